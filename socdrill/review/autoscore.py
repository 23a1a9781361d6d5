"""Scoring every ended exercise once, shortly after ENDEX, from the engine's tick.

Whichever way an exercise ended (control's ENDEX, the dead-man switch, the command
line), the next engine tick finds it ended without a stored score and scores it
with :func:`socdrill.review.scores.rescore`. Only the leader engine ticks, so a
scaled deployment scores each exercise in one place.

- **Once.** Every attempt leaves an :class:`AutoScoreAttempt` row; an exercise with
  one is never picked again. A failure (the exercise never started, its scenario
  cannot be read …) is stored there and in the audit log, and the debrief shows
  it; "Score now" still works.
- **Complete.** An exercise is scored only when streaming detection has evaluated
  every event stored before the engine first saw it ended, so alerts on its last
  events count.
- **Bounded.** One exercise per tick, after the tick's own work. Scoring a played
  ransomware drill took 0.1–0.3 s on a shared two-core machine (docs/review.md).
- **Within retention.** Exercises whose individual data is past the retention
  period, or already purged, are not scored automatically.
- ``SCORE_AT_ENDEX = false`` turns it off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from siem.store import EventStore
from socdrill import audit
from socdrill.console.errors import ConsoleError
from socdrill.database import write_transaction
from socdrill.engine.delivery import Detection
from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseState, ScoreRecord
from socdrill.models.review import AutoScoreAttempt, RetentionPurge
from socdrill.review import retention, scores

log = logging.getLogger(__name__)

REASON = "scored automatically after ENDEX"
FAILED_ACTION = "review.autoscore_failed"
ACTOR = "system"
FINISHED = (ExerciseState.ENDED, ExerciseState.REVIEWED)


def enabled(app: Flask) -> bool:
    return bool(app.config.get("SCORE_AT_ENDEX", True))


def attempt_of(exercise_id: int) -> AutoScoreAttempt | None:
    """The engine's attempt to score ``exercise_id``, if it made one."""
    return db.session.get(AutoScoreAttempt, exercise_id)


def next_unscored(now: datetime, months: int) -> int | None:
    """The ended exercise that waited longest for its first score, if any."""
    return db.session.scalar(
        sa.select(Exercise.id)
        .where(
            Exercise.state.in_(FINISHED),
            Exercise.ended_at.is_not(None),
            Exercise.ended_at >= retention.months_before(now, months),
            ~sa.exists().where(ScoreRecord.exercise_id == Exercise.id),
            ~sa.exists().where(AutoScoreAttempt.exercise_id == Exercise.id),
            ~sa.exists().where(RetentionPurge.exercise_id == Exercise.id),
        )
        .order_by(Exercise.ended_at, Exercise.id)
        .limit(1)
    )


def newest_event_id(store: EventStore) -> int:
    with store.connect() as conn:
        return int(
            conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM events").scalar()
            or 0
        )


def _failure(error: Exception) -> str:
    """What the debrief may say: a refusal's own message; for anything else only
    its kind (the details, which may name internals, go to the engine log)."""
    if isinstance(error, ConsoleError):
        return error.message
    return f"an unexpected {type(error).__name__}; the engine log has the details"


def score_once(exercise_id: int, now: datetime) -> str | None:
    """Score ``exercise_id`` and record the attempt; the failure's reason, if any.

    Never raises for a failure of the exercise: the attempt is recorded so it is
    not tried again.
    """
    try:
        with write_transaction():
            exercise = db.session.get(Exercise, exercise_id, populate_existing=True)
            if exercise is None or attempt_of(exercise_id) is not None:
                return None  # gone, or another engine got there first
            if db.session.get(ScoreRecord, exercise_id) is None:
                scores.rescore(exercise, None, REASON, actor_name=ACTOR)
            db.session.add(AutoScoreAttempt(exercise_id=exercise_id, attempted_at=now))
        return None
    except Exception as error:  # any failure is recorded, and never tried again
        reason = _failure(error)[:500]
        log.warning(
            "review: exercise %s not scored automatically: %s",
            exercise_id,
            error,
            exc_info=not isinstance(error, ConsoleError),
        )
    with write_transaction():
        exercise = db.session.get(Exercise, exercise_id, populate_existing=True)
        if exercise is None or attempt_of(exercise_id) is not None:
            return reason
        db.session.add(
            AutoScoreAttempt(exercise_id=exercise_id, attempted_at=now, error=reason)
        )
        audit.record(
            FAILED_ACTION,
            actor_name=ACTOR,
            tenant_id=exercise.tenant_id,
            target=exercise,
            detail={"reason": reason},
        )
    return reason


class AutoScorer:
    """The engine's side: at most one exercise scored per tick.

    ``waiting`` holds, for the exercise next in line, the newest SIEM event id when
    the engine first saw it ended: ``detection`` (the engine's) must have evaluated
    up to it first.
    """

    def __init__(self, app: Flask, detection: Callable[[], Detection]) -> None:
        self.app = app
        self.detection = detection
        self.waiting: dict[int, int] = {}

    def tick(self, now: datetime) -> list[int]:
        """Score the next ended exercise once detection caught up; its id if its
        score was stored (a failure is logged and recorded, not raised)."""
        if not enabled(self.app):
            return []
        exercise_id = next_unscored(now, retention.retention_months(self.app))
        if exercise_id is None:
            return []
        detection = self.detection()
        if exercise_id not in self.waiting:
            # Only the exercise at the head of the queue is tracked.
            self.waiting = {exercise_id: newest_event_id(detection.store)}
        if detection.detector.watermark < self.waiting[exercise_id]:
            return []
        del self.waiting[exercise_id]
        failure = score_once(exercise_id, now)
        return [exercise_id] if failure is None else []
