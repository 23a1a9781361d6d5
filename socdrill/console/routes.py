"""Console views."""

from __future__ import annotations

from flask import render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill.console import bp
from socdrill.exercise import lifecycle
from socdrill.models import utcnow
from socdrill.responses import done


@bp.get("/console")
def index() -> str:
    """The analyst's console; alert queue, search and tickets arrive with the engine."""
    return render_template("console/index.html")


@bp.post("/emergency")
def emergency() -> Response:
    """REAL-WORLD EMERGENCY: stop play of every drill of your teams, tell control."""
    me = current_user._get_current_object()  # type: ignore[attr-defined]
    lifecycle.emergency_stop_for(me, utcnow())
    return done(
        "Real-world emergency recorded: exercise play is stopped and control is "
        "notified. Follow your real incident procedure.",
        url_for("main.dashboard"),
    )
