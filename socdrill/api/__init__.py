"""The JSON API (``/api/v1``): bearer API tokens or the browser session."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from socdrill.api import routes  # noqa: E402, F401  (registers the views on bp)
