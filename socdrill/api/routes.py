"""Who am I, exercises and their event journal, and the OpenAPI document."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill import tenancy
from socdrill.api import bp, docs_bp, openapi
from socdrill.api.errors import error_body
from socdrill.exercise import journal
from socdrill.exercise.views import exercise_summary
from socdrill.extensions import db
from socdrill.models import User, utcnow

MAX_EVENTS = 500


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.get("/me")
def me() -> Response:
    user = _me()
    return jsonify(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "teams": [m.team.name for m in user.active_memberships()],
        }
    )


@bp.get("/exercises")
def exercises() -> Response:
    user = _me()
    now = utcnow()
    rows = db.session.scalars(tenancy.visible_exercises(user)).all()
    return jsonify({"exercises": [exercise_summary(row, user, now) for row in rows]})


@bp.get("/exercises/<int:exercise_id>")
def exercise(exercise_id: int) -> Response:
    user = _me()
    row = tenancy.exercise_or_404(exercise_id, user)
    return jsonify(exercise_summary(row, user, utcnow()))


@bp.get("/exercises/<int:exercise_id>/events")
def exercise_events(exercise_id: int) -> Response | tuple[Response, int]:
    """Events after ``since`` (replay after a reconnect); control sees its own room."""
    user = _me()
    row = tenancy.exercise_or_404(exercise_id, user)
    since_text = request.args.get("since", "0")
    if not since_text.isdigit():
        return error_body(
            400, "since must be a sequence number", {"since": "not a number"}
        )
    room = (
        journal.control_room(row.id)
        if user.role in tenancy.CONTROL_ROLES
        else journal.participant_room(row.id)
    )
    events = journal.events_since(room, int(since_text), MAX_EVENTS)
    return jsonify(
        {
            "room": room,
            "events": [
                {
                    "seq": event.seq,
                    "kind": event.kind,
                    "payload": event.payload,
                    "at": event.created_at.isoformat(),
                }
                for event in events
            ],
        }
    )


@docs_bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document, generated from the operations' pydantic schemas."""
    return jsonify(openapi.document())
