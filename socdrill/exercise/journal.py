"""The per-room event journal behind live updates (ARCHITECTURE.md rule 2).

Each room has its own gap-free sequence; a reconnecting client asks for what came
after the last number it saw. Rows are written in the same transaction as the change
they announce, and emitted only after commit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseEvent


def participant_room(exercise_id: int) -> str:
    return f"exercise:{exercise_id}"


def control_room(exercise_id: int) -> str:
    return f"exercise:{exercise_id}:control"


def tenant_room(tenant_id: int) -> str:
    """Everyone monitoring the tenant: SIEM alerts, never exercise ground truth."""
    return f"tenant:{tenant_id}"


def team_room(team_id: int) -> str:
    """The members of one team: crisis messages and team notices."""
    return f"team:{team_id}"


def append_event(
    exercise: Exercise, kind: str, payload: dict[str, Any], *, room: str
) -> ExerciseEvent:
    """Append one event with the room's next sequence number.

    Call inside :func:`socdrill.database.write_transaction`: on SQLite the
    immediate transaction serialises writers, and ``UNIQUE(room, seq)`` refuses a
    duplicate number on any backend.
    """
    return append_room_event(room, kind, payload, exercise_id=exercise.id)


def append_room_event(
    room: str, kind: str, payload: dict[str, Any], *, exercise_id: int | None = None
) -> ExerciseEvent:
    """:func:`append_event` for any room, with or without an exercise."""
    last = db.session.scalar(
        sa.select(sa.func.max(ExerciseEvent.seq)).where(ExerciseEvent.room == room)
    )
    event = ExerciseEvent(
        exercise_id=exercise_id,
        room=room,
        seq=(last or 0) + 1,
        kind=kind,
        payload=payload,
    )
    db.session.add(event)
    db.session.flush()
    return event


def last_seq(room: str) -> int:
    """The newest sequence number of ``room`` (0 when it has none)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.max(ExerciseEvent.seq)).where(ExerciseEvent.room == room)
        )
        or 0
    )


def events_since(room: str, seq: int, limit: int = 500) -> list[ExerciseEvent]:
    """Events of ``room`` after ``seq``, in order (for replay after a reconnect)."""
    return list(
        db.session.scalars(
            sa.select(ExerciseEvent)
            .where(ExerciseEvent.room == room, ExerciseEvent.seq > seq)
            .order_by(ExerciseEvent.seq)
            .limit(limit)
        )
    )
