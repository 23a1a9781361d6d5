"""The exercise clock of an exercise row, built from its stored segments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from simulator.clock import ClockSegment, ExerciseClock
from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseClockSegment


def load_segments(exercise_id: int) -> list[ExerciseClockSegment]:
    return list(
        db.session.scalars(
            sa.select(ExerciseClockSegment)
            .where(ExerciseClockSegment.exercise_id == exercise_id)
            .order_by(ExerciseClockSegment.seq)
        )
    )


def clock_for(exercise: Exercise) -> ExerciseClock:
    """The clock computed from the rows, so every process agrees on the time."""
    return ExerciseClock(
        ClockSegment(row.wall_start.timestamp(), row.speed_factor, row.running)
        for row in load_segments(exercise.id)
    )


def append_segment(
    exercise: Exercise, wall_start: datetime, speed: float, *, running: bool
) -> ExerciseClockSegment:
    """Add the next clock segment (the caller holds the write transaction)."""
    last = db.session.scalar(
        sa.select(sa.func.max(ExerciseClockSegment.seq)).where(
            ExerciseClockSegment.exercise_id == exercise.id
        )
    )
    segment = ExerciseClockSegment(
        exercise_id=exercise.id,
        seq=(last or 0) + 1,
        wall_start=wall_start,
        speed_factor=speed,
        running=running,
    )
    db.session.add(segment)
    return segment
