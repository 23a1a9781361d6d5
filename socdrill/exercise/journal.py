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


def append_event(
    exercise: Exercise, kind: str, payload: dict[str, Any], *, room: str
) -> ExerciseEvent:
    """Append one event with the room's next sequence number.

    Call inside :func:`socdrill.database.write_transaction`: on SQLite the
    immediate transaction serialises writers, and ``UNIQUE(room, seq)`` refuses a
    duplicate number on any backend.
    """
    last = db.session.scalar(
        sa.select(sa.func.max(ExerciseEvent.seq)).where(ExerciseEvent.room == room)
    )
    event = ExerciseEvent(
        exercise_id=exercise.id,
        room=room,
        seq=(last or 0) + 1,
        kind=kind,
        payload=payload,
    )
    db.session.add(event)
    db.session.flush()
    return event


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
