"""The analyst console (the live SOC view comes with the engine) and the
real-world emergency button every participant can press."""

from flask import Blueprint

bp = Blueprint("console", __name__)

from socdrill.console import routes  # noqa: E402, F401  (registers the views on bp)
