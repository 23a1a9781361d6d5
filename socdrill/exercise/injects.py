"""Inject instances: planned once, fired at most once, by compare-and-set.

Firing runs in one write transaction: re-read the exercise (fail closed unless it is
running), flip the instance from pending to fired with a conditional UPDATE (zero
rows means someone else fired or cancelled it), apply the effect and append the
journal event. A crash before commit leaves the inject pending; a retry after commit
finds it fired. Either way the effect happens exactly once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime

import sqlalchemy as sa

from socdrill.database import write_transaction
from socdrill.engine import failpoints
from socdrill.exercise import journal
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseState, InjectInstance, InjectState

# Seconds of play an inject may trail its due time before it counts as late
# (scenario seconds at 1x; scaled by the speed factor when faster).
LATE_AFTER_SECONDS = 5.0

Effect = Callable[[InjectInstance], None]


class FireResult(enum.StrEnum):
    FIRED = "fired"
    ALREADY_HANDLED = "already_handled"
    NOT_RUNNING = "not_running"
    UNKNOWN_INJECT = "unknown_inject"


def plan_injects(exercise_id: int, due: Mapping[str, float]) -> int:
    """Create the pending instances that do not exist yet; return how many."""
    with write_transaction():
        existing = set(
            db.session.scalars(
                sa.select(InjectInstance.inject_key).where(
                    InjectInstance.exercise_id == exercise_id
                )
            )
        )
        missing = [key for key in due if key not in existing]
        for key in missing:
            if due[key] < 0:
                raise ValueError(f"inject {key!r} is due before the start ({due[key]})")
            db.session.add(
                InjectInstance(
                    exercise_id=exercise_id,
                    inject_key=key,
                    due_scenario_seconds=float(due[key]),
                )
            )
        return len(missing)


def fire_inject(
    exercise_id: int, inject_key: str, now: datetime, effect: Effect | None = None
) -> FireResult:
    """Fire one inject exactly once; ``effect`` runs inside the same transaction."""
    with write_transaction():
        exercise = db.session.scalar(
            sa.select(Exercise)
            .where(Exercise.id == exercise_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if exercise is None or exercise.state != ExerciseState.RUNNING:
            return FireResult.NOT_RUNNING
        instance = db.session.scalar(
            sa.select(InjectInstance).where(
                InjectInstance.exercise_id == exercise_id,
                InjectInstance.inject_key == inject_key,
            )
        )
        if instance is None:
            return FireResult.UNKNOWN_INJECT
        clock = clock_for(exercise)
        scenario_now = clock.scenario_seconds_at(now.timestamp())
        lateness = max(0.0, scenario_now - instance.due_scenario_seconds)
        # Late means late for the people playing: at 60x a half-second tick
        # already trails by 30 scenario seconds.
        late_after = LATE_AFTER_SECONDS * max(1.0, clock.speed_at(now.timestamp()))
        claimed = db.session.execute(
            sa.update(InjectInstance)
            .where(
                InjectInstance.id == instance.id,
                InjectInstance.state == InjectState.PENDING,
            )
            .values(
                state=InjectState.FIRED,
                fired_at=now,
                late=lateness > late_after,
                lateness_seconds=lateness,
            )
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if claimed != 1:
            return FireResult.ALREADY_HANDLED
        failpoints.hit("after_claim")
        if effect is not None:
            effect(instance)
        # Ground truth stays with control: participants never hear which inject fired.
        journal.append_event(
            exercise,
            "inject.fired",
            {"inject_key": inject_key, "late": instance.late, "lateness": lateness},
            room=journal.control_room(exercise_id),
        )
        return FireResult.FIRED


def due_inject_keys(exercise: Exercise, now: datetime) -> list[str]:
    """Pending injects whose scenario time has come, in due order."""
    scenario_now = clock_for(exercise).scenario_seconds_at(now.timestamp())
    return list(
        db.session.scalars(
            sa.select(InjectInstance.inject_key)
            .where(
                InjectInstance.exercise_id == exercise.id,
                InjectInstance.state == InjectState.PENDING,
                InjectInstance.due_scenario_seconds <= scenario_now,
            )
            .order_by(InjectInstance.due_scenario_seconds, InjectInstance.id)
        )
    )


def miss_inject(
    exercise_id: int, inject_key: str, now: datetime, effect: Effect | None = None
) -> FireResult:
    """Mark a pending inject missed (the "skip" policy after downtime).

    The same compare-and-set as :func:`fire_inject`: a missed inject never fires,
    and control hears about it. Returns ``FIRED`` when this call marked it.
    """
    with write_transaction():
        exercise = db.session.scalar(
            sa.select(Exercise)
            .where(Exercise.id == exercise_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if exercise is None or exercise.state != ExerciseState.RUNNING:
            return FireResult.NOT_RUNNING
        instance = db.session.scalar(
            sa.select(InjectInstance).where(
                InjectInstance.exercise_id == exercise_id,
                InjectInstance.inject_key == inject_key,
            )
        )
        if instance is None:
            return FireResult.UNKNOWN_INJECT
        scenario_now = clock_for(exercise).scenario_seconds_at(now.timestamp())
        lateness = max(0.0, scenario_now - instance.due_scenario_seconds)
        claimed = db.session.execute(
            sa.update(InjectInstance)
            .where(
                InjectInstance.id == instance.id,
                InjectInstance.state == InjectState.PENDING,
            )
            .values(state=InjectState.MISSED, late=True, lateness_seconds=lateness)
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if claimed != 1:
            return FireResult.ALREADY_HANDLED
        if effect is not None:
            effect(instance)
        journal.append_event(
            exercise,
            "inject.missed",
            {"inject_key": inject_key, "lateness": lateness},
            room=journal.control_room(exercise_id),
        )
        return FireResult.FIRED


def inject_states(exercise_id: int) -> dict[str, InjectState]:
    """Every planned inject of an exercise and its state."""
    return dict(
        db.session.execute(
            sa.select(InjectInstance.inject_key, InjectInstance.state).where(
                InjectInstance.exercise_id == exercise_id
            )
        ).all()
    )
