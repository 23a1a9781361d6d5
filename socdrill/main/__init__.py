"""The landing page and the per-role dashboard."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from socdrill.main import routes  # noqa: E402, F401  (registers the views on bp)
