"""Exercise control (the white cell): plan, approve, start, pause, speed, ENDEX."""

from flask import Blueprint

bp = Blueprint("control", __name__)

from socdrill.control import routes  # noqa: E402, F401  (registers the views on bp)
