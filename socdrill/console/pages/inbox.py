"""The crisis inbox page."""

from __future__ import annotations

from flask import render_template

from socdrill.console import bp, responding
from socdrill.console.scope import exercise_label, me, teams_of
from socdrill.models import utcnow


@bp.get("/console/inbox")
def inbox() -> str:
    user = me()
    return render_template(
        "console/inbox.html",
        items=responding.inbox(user),
        label=lambda exercise: exercise_label(exercise, user),
        now=utcnow(),
        teams=teams_of(user),
    )
