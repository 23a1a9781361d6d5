"""Console pages: the alert queue (the console's home) and the real-world emergency
button every participant can press. The other pages live in ``pages/``."""

from __future__ import annotations

from flask import render_template, url_for
from werkzeug.wrappers import Response

from socdrill.console import bp
from socdrill.console.errors import ConsoleError
from socdrill.console.scope import me
from socdrill.errors import ErrorResponse, error_response
from socdrill.exercise import lifecycle
from socdrill.models import utcnow
from socdrill.responses import done


@bp.post("/emergency")
def emergency() -> Response:
    """REAL-WORLD EMERGENCY: stop play of every drill of your teams, tell control."""
    lifecycle.emergency_stop_for(me(), utcnow())
    return done(
        "Real-world emergency recorded: exercise play is stopped and control is "
        "notified. Follow your real incident procedure.",
        url_for("main.dashboard"),
    )


@bp.errorhandler(ConsoleError)
def console_error(error: ConsoleError) -> ErrorResponse:
    """Pages answer a refused or unknown object like any other error page."""
    return error_response(error.status, error.message)


def page(template: str, **context: object) -> str:
    """Render a console page (the console's navigation knows the active tab)."""
    return render_template(template, **context)


from socdrill.console.pages import (  # noqa: E402, F401  (registers the pages on bp)
    alerts,
    chat,
    inbox,
    incidents,
    knowledge,
    search,
)
