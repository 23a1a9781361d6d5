"""The analyst console: alert queue, search, incidents, response actions, crisis
inbox, knowledge base and team channel, and the real-world emergency button.

Pages only read and every change goes through the JSON API (``socdrill.api``); the
emergency button is a plain form, so it works without scripts."""

from flask import Blueprint

bp = Blueprint("console", __name__)

from socdrill.console import routes  # noqa: E402, F401  (registers the views on bp)
