"""The exercise lifecycle: draft → scheduled → running ⇄ paused → ended → reviewed.

Every control action runs in one write transaction that re-reads the exercise
inside the transaction (so two managers, the engine and the CLI never act on a stale
state), changes it, appends its clock segment and journal event, and writes one
audit row. ENDEX and the emergency stop are idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from socdrill import audit
from socdrill.database import write_transaction
from socdrill.engine import failpoints
from socdrill.exercise import journal
from socdrill.exercise.clock import append_segment
from socdrill.exercise.scheduling import parse_blackout_dates, pick_start
from socdrill.extensions import db
from socdrill.models import (
    Exercise,
    ExerciseApproval,
    ExerciseState,
    InjectInstance,
    InjectState,
    Membership,
    Role,
    TrustedAgent,
    User,
)

MAX_SPEED = 1000.0
CONTROL_ROLES = frozenset({Role.ADMIN, Role.MANAGER})

State = ExerciseState


class LifecycleError(Exception):
    """A control action is not possible now; nothing changed. The message says why."""

    status = 409


class NotPermitted(LifecycleError):
    """The person may not take this action on this exercise."""

    status = 403


class UnknownExercise(LifecycleError):
    status = 404


@dataclass(frozen=True)
class Outcome:
    """What a control action did: ``changed`` is false for an idempotent repeat."""

    exercise_id: int
    state: ExerciseState
    changed: bool
    message: str


def _locked(exercise_id: int) -> Exercise:
    """Re-read the exercise inside the write transaction (row lock on PostgreSQL)."""
    exercise = db.session.scalar(
        sa.select(Exercise)
        .where(Exercise.id == exercise_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if exercise is None:
        raise UnknownExercise(f"exercise {exercise_id} does not exist")
    return exercise


def _require_state(exercise: Exercise, action: str, allowed: Iterable[State]) -> None:
    allowed = tuple(allowed)
    if exercise.state not in allowed:
        names = " or ".join(state.value for state in allowed)
        raise LifecycleError(
            f"cannot {action} exercise {exercise.id}: it is {exercise.state.value}, "
            f"and {action} needs it {names}"
        )


def _require_control(actor: User | None, action: str) -> None:
    if actor is not None and actor.role not in CONTROL_ROLES:
        raise NotPermitted(f"only a manager or an admin may {action} an exercise")


def _publish(exercise: Exercise, kind: str, payload: dict[str, object]) -> None:
    """Control always hears; participants hear unless the drill is still secret."""
    journal.append_event(
        exercise, kind, payload, room=journal.control_room(exercise.id)
    )
    if exercise.announced or exercise.finished or kind == "exercise.emergency":
        journal.append_event(
            exercise, kind, payload, room=journal.participant_room(exercise.id)
        )


def _change_state(
    exercise: Exercise,
    action: str,
    target: State,
    actor: User | None,
    actor_name: str | None,
    detail: dict[str, object] | None = None,
) -> Outcome:
    before = exercise.state
    exercise.state = target
    audit.record(
        f"exercise.{action}",
        actor=actor,
        actor_name=actor_name,
        tenant_id=exercise.tenant_id,
        target=exercise,
        detail={"from": before.value, "to": target.value, **(detail or {})},
    )
    _publish(exercise, "exercise.state", {"state": target.value, "action": action})
    return Outcome(exercise.id, target, True, f"exercise {exercise.id} is {target}")


def schedule(exercise_id: int, actor: User | None, now: datetime) -> Outcome:
    """Plan the drill; an unannounced one gets its start time from its seed."""
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "schedule")
        _require_state(exercise, "schedule", [State.DRAFT])
        detail: dict[str, object] = {}
        if not exercise.announced:
            if exercise.window_start is None or exercise.window_end is None:
                raise LifecycleError("an unannounced exercise needs a window")
            start = pick_start(
                exercise.seed,
                exercise.window_start,
                exercise.window_end,
                parse_blackout_dates(exercise.blackout_dates),
                timedelta(seconds=exercise.max_duration_seconds),
            )
            exercise.scheduled_start = start
            detail["scheduled_start"] = start.isoformat()
        return _change_state(exercise, "schedule", State.SCHEDULED, actor, None, detail)


def approve(exercise_id: int, actor: User, now: datetime) -> Outcome:
    """Record a manager's approval; the creator's own approval does not count."""
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "approve")
        _require_state(exercise, "approve", [State.DRAFT, State.SCHEDULED])
        if actor.id == exercise.created_by_id:
            raise NotPermitted(
                "a second manager must approve: the creator cannot approve their "
                "own exercise"
            )
        if any(approval.approver_id == actor.id for approval in exercise.approvals):
            raise LifecycleError(f"{actor.username} has already approved this exercise")
        db.session.add(
            ExerciseApproval(
                exercise_id=exercise.id, approver_id=actor.id, approved_at=now
            )
        )
        audit.record(
            "exercise.approve",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=exercise,
        )
        _publish(exercise, "exercise.approved", {"approver": actor.username})
        return Outcome(exercise.id, exercise.state, True, "approval recorded")


def add_trusted_agent(
    exercise_id: int, actor: User | None, agent: User, now: datetime
) -> Outcome:
    """Name a member of the exercised team who knows about the drill."""
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "name trusted agents of")
        _require_state(
            exercise, "name trusted agents of", [State.DRAFT, State.SCHEDULED]
        )
        member = db.session.scalar(
            sa.select(Membership.id).where(
                Membership.team_id == exercise.team_id,
                Membership.user_id == agent.id,
                Membership.left_at.is_(None),
            )
        )
        if member is None or not agent.active:
            raise LifecycleError(
                f"{agent.username} is not an active member of the exercised team"
            )
        if exercise.is_trusted_agent(agent.id):
            raise LifecycleError(f"{agent.username} is already a trusted agent")
        db.session.add(
            TrustedAgent(exercise_id=exercise.id, user_id=agent.id, added_at=now)
        )
        audit.record(
            "exercise.trusted_agent",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=exercise,
            detail={"agent": agent.username},
        )
        return Outcome(
            exercise.id, exercise.state, True, f"{agent.username} is a trusted agent"
        )


def start(
    exercise_id: int,
    actor: User | None,
    now: datetime,
    *,
    actor_name: str | None = None,
) -> Outcome:
    """Start the clock. Launching needs the launch grant; an unannounced drill also
    needs a second approver, a trusted agent and a start inside its window.
    ``actor=None`` is the CLI or, with ``actor_name="system"``, the engine starting
    a scheduled drill."""
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "start")
        if actor is not None and actor.role == Role.MANAGER and not actor.can_launch:
            raise NotPermitted(
                "launching an exercise needs the launch grant; ask an admin"
            )
        _require_state(exercise, "start", [State.SCHEDULED])
        if not exercise.announced:
            _check_unannounced_ready(exercise, now)
        append_segment(exercise, now, exercise.speed_factor, running=True)
        exercise.started_at = now
        return _change_state(exercise, "start", State.RUNNING, actor, actor_name)


def _check_unannounced_ready(exercise: Exercise, now: datetime) -> None:
    second = [a for a in exercise.approvals if a.approver_id != exercise.created_by_id]
    if not second:
        raise LifecycleError(
            "an unannounced exercise needs the approval of a second manager"
        )
    if not exercise.trusted_agents:
        raise LifecycleError("an unannounced exercise needs at least one trusted agent")
    window_start, window_end = exercise.window_start, exercise.window_end
    if (
        window_start is None
        or window_end is None
        or not (window_start <= now <= window_end)
    ):
        raise LifecycleError("now is outside the exercise window")
    blackouts = parse_blackout_dates(exercise.blackout_dates)
    if now.date() in blackouts:
        raise LifecycleError(f"{now.date().isoformat()} is a blackout date")


def pause(exercise_id: int, actor: User | None, now: datetime) -> Outcome:
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "pause")
        _require_state(exercise, "pause", [State.RUNNING])
        append_segment(exercise, now, exercise.speed_factor, running=False)
        return _change_state(exercise, "pause", State.PAUSED, actor, None)


def resume(exercise_id: int, actor: User | None, now: datetime) -> Outcome:
    """Resume play; this also clears a real-world emergency stop."""
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "resume")
        _require_state(exercise, "resume", [State.PAUSED])
        append_segment(exercise, now, exercise.speed_factor, running=True)
        exercise.emergency_at = None
        return _change_state(exercise, "resume", State.RUNNING, actor, None)


def set_speed(
    exercise_id: int, actor: User | None, speed: float, now: datetime
) -> Outcome:
    """Change the speed factor from now on (scenario seconds per active second)."""
    if not (0 < speed <= MAX_SPEED):
        raise LifecycleError(f"speed must be above 0 and at most {MAX_SPEED:g}")
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "change the speed of")
        _require_state(exercise, "change the speed of", [State.RUNNING, State.PAUSED])
        before = exercise.speed_factor
        exercise.speed_factor = speed
        append_segment(exercise, now, speed, running=exercise.state == State.RUNNING)
        audit.record(
            "exercise.speed",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=exercise,
            detail={"from": before, "to": speed},
        )
        _publish(exercise, "exercise.speed", {"speed": speed})
        return Outcome(exercise.id, exercise.state, True, f"speed is now {speed:g}×")


def endex(
    exercise_id: int,
    actor: User | None,
    now: datetime,
    reason: str = "",
    *,
    actor_name: str | None = None,
) -> Outcome:
    """End the exercise (ENDEX): stop the clock, cancel pending injects, disclose.

    Idempotent: ending an ended exercise changes nothing. Managers, admins and the
    exercise's trusted agents may do it; ``actor=None`` is the CLI or the system.
    """
    with write_transaction():
        exercise = _locked(exercise_id)
        if (
            actor is not None
            and actor.role not in CONTROL_ROLES
            and not exercise.is_trusted_agent(actor.id)
        ):
            raise NotPermitted(
                "only a manager, an admin or a trusted agent may end an exercise"
            )
        if exercise.finished:
            return Outcome(
                exercise.id,
                exercise.state,
                False,
                f"exercise {exercise.id} had already ended",
            )
        if exercise.active:
            append_segment(exercise, now, exercise.speed_factor, running=False)
        cancelled = db.session.execute(
            sa.update(InjectInstance)
            .where(
                InjectInstance.exercise_id == exercise.id,
                InjectInstance.state == InjectState.PENDING,
            )
            .values(state=InjectState.CANCELLED)
        ).rowcount
        failpoints.hit("during_endex")
        exercise.ended_at = now
        exercise.endex_reason = reason.strip()[:200]
        outcome = _change_state(
            exercise,
            "endex",
            State.ENDED,
            actor,
            actor_name,
            {"reason": exercise.endex_reason, "cancelled_injects": cancelled},
        )
        _publish(
            exercise,
            "exercise.endex",
            {"scenario_id": exercise.scenario_id, "reason": exercise.endex_reason},
        )
        return Outcome(
            outcome.exercise_id, outcome.state, True, "ENDEX: the exercise has ended"
        )


def emergency_stop(exercise_id: int, actor: User | None, now: datetime) -> Outcome:
    """Real-world emergency: pause play at once, tell control and everybody, audit.

    Any participant may press it; repeating it changes nothing more.
    """
    with write_transaction():
        exercise = _locked(exercise_id)
        if not exercise.active:
            return Outcome(
                exercise.id, exercise.state, False, "the exercise is not in play"
            )
        if exercise.state == State.PAUSED and exercise.emergency_at is not None:
            return Outcome(
                exercise.id, exercise.state, False, "play is already stopped"
            )
        before = exercise.state
        if exercise.state == State.RUNNING:
            append_segment(exercise, now, exercise.speed_factor, running=False)
            exercise.state = State.PAUSED
        exercise.emergency_at = now
        audit.record(
            "exercise.emergency_stop",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=exercise,
            detail={"from": before.value, "to": exercise.state.value},
        )
        _publish(
            exercise,
            "exercise.emergency",
            {"by": actor.username if actor else "system", "at": now.isoformat()},
        )
        return Outcome(exercise.id, exercise.state, True, "exercise play stopped")


def review(exercise_id: int, actor: User | None, now: datetime) -> Outcome:
    """Mark the debrief done."""
    with write_transaction():
        exercise = _locked(exercise_id)
        _require_control(actor, "review")
        _require_state(exercise, "review", [State.ENDED])
        exercise.reviewed_at = now
        return _change_state(exercise, "review", State.REVIEWED, actor, None)


def overdue_exercise_ids(now: datetime) -> list[int]:
    """Running or paused exercises past their maximum duration (wall time)."""
    candidates = db.session.scalars(
        sa.select(Exercise).where(
            Exercise.state.in_((State.RUNNING, State.PAUSED)),
            Exercise.started_at.is_not(None),
        )
    )
    return [
        exercise.id
        for exercise in candidates
        if exercise.started_at is not None
        and now - exercise.started_at
        >= timedelta(seconds=exercise.max_duration_seconds)
    ]


def auto_endex_overdue(now: datetime) -> list[int]:
    """The dead-man switch: ENDEX every exercise past its maximum duration."""
    ended = []
    for exercise_id in overdue_exercise_ids(now):
        outcome = endex(
            exercise_id, None, now, "maximum duration reached", actor_name="system"
        )
        if outcome.changed:
            ended.append(exercise_id)
    return ended


def participant_exercise_ids(user: User) -> list[int]:
    """Exercises in play for the teams ``user`` belongs to."""
    return list(
        db.session.scalars(
            sa.select(Exercise.id)
            .join(Membership, Membership.team_id == Exercise.team_id)
            .where(
                Membership.user_id == user.id,
                Membership.left_at.is_(None),
                Exercise.state.in_((State.RUNNING, State.PAUSED)),
            )
            .order_by(Exercise.id)
        )
    )


def emergency_stop_for(user: User, now: datetime) -> list[int]:
    """A participant pressed "real-world emergency": stop every drill of their teams.

    The answer does not say which drills exist (an unannounced one stays secret
    until control discloses it); one audit row records the press itself.
    """
    stopped = [
        exercise_id
        for exercise_id in participant_exercise_ids(user)
        if emergency_stop(exercise_id, user, now).changed
    ]
    with write_transaction():
        audit.record("emergency.pressed", actor=user, detail={"stopped": stopped})
    return stopped
