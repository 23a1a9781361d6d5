"""Administration pages: users, teams (members, shifts, tenants) and tenants."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from socdrill.admin import routes  # noqa: E402, F401  (registers the views on bp)
