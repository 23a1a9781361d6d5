"""The control cell's live view: ground truth beside the team's progress, and the
control cell's own interventions (a hint, an ad-hoc crisis message, a release).

Only managers, admins and the exercise's trusted agents see it: it shows which
stages fired, were prevented or fell back, which alerts belong to the drill, and
every participant action from the activity log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from socdrill import audit, tenancy
from socdrill.console import siem_access
from socdrill.console.activity import Done, Recorder
from socdrill.console.errors import Invalid, NotFound
from socdrill.database import write_transaction
from socdrill.engine import crisis
from socdrill.engine.runtime import PlayError, load_exercise_scenario
from socdrill.exercise import journal
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    AlertStatus,
    AlertTriage,
    ChatMessage,
    CrisisDelivery,
    Exercise,
    Incident,
    InjectInstance,
    ResponseActionRecord,
    StageOutcomeRecord,
    User,
    utcnow,
)

RECENT_ACTIVITY = 50


def exercise_for_control(exercise_id: int, user: User) -> Exercise:
    """The exercise if ``user`` is its control cell (manager, admin, trusted agent)."""
    exercise = db.session.get(Exercise, exercise_id)
    allowed = {t.id for t in _tenants(user)}
    if exercise is None or exercise.tenant_id not in allowed:
        raise NotFound(f"no exercise {exercise_id} in your scope")
    if user.role not in tenancy.CONTROL_ROLES and not exercise.is_trusted_agent(
        user.id
    ):
        # Not 403: the live view of a secret drill must not confirm it exists.
        raise NotFound(f"no exercise {exercise_id} in your control")
    return exercise


def _tenants(user: User) -> list[Any]:
    from socdrill.console.scope import tenants_of

    return tenants_of(user)


@dataclass
class StageView:
    id: str
    technique: str
    tier: str
    due: str
    status: str
    reason: str = ""
    fallback: str | None = None
    event_count: int = 0


@dataclass
class LiveState:
    """Everything the live view shows, as plain data (page and API)."""

    exercise: Exercise
    scenario_seconds: float
    active_seconds: float
    stages: list[StageView] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    responses: list[ResponseActionRecord] = field(default_factory=list)
    crisis: list[CrisisDelivery] = field(default_factory=list)
    activity_counts: dict[str, int] = field(default_factory=dict)
    activity: list[Activity] = field(default_factory=list)
    problem: str = ""


def _stages(exercise: Exercise) -> tuple[list[StageView], str]:
    outcomes = {
        row.stage_id: row
        for row in db.session.scalars(
            sa.select(StageOutcomeRecord).where(
                StageOutcomeRecord.exercise_id == exercise.id
            )
        )
    }
    try:
        scenario = load_exercise_scenario(exercise)
    except PlayError as error:
        return [], str(error)
    views = []
    for stage in scenario.stages:
        outcome = outcomes.get(stage.id)
        techniques = (
            stage.technique if isinstance(stage.technique, list) else [stage.technique]
        )
        views.append(
            StageView(
                id=stage.id,
                technique=", ".join(str(t) for t in techniques),
                tier=stage.tier,
                due=f"{outcome.due_scenario_seconds:.0f} s" if outcome else "—",
                status=outcome.status if outcome else "pending",
                reason=outcome.reason if outcome else "",
                fallback=outcome.fallback if outcome else None,
                event_count=outcome.event_count if outcome else 0,
            )
        )
    return views, ""


def _alert_counts(exercise: Exercise) -> dict[str, int]:
    with siem_access.event_store().connect() as conn:
        ids = [
            int(row[0])
            for row in conn.exec_driver_sql(
                "SELECT id FROM alerts WHERE exercise = ?",
                (siem_access.exercise_key(exercise.id),),
            )
        ]
    statuses: Counter[str] = Counter({status.value: 0 for status in AlertStatus})
    triaged = {
        row.siem_alert_id: row.status
        for row in db.session.scalars(
            sa.select(AlertTriage).where(AlertTriage.exercise_id == exercise.id)
        )
    }
    for alert_id in ids:
        statuses[triaged.get(alert_id, AlertStatus.NEW).value] += 1
    return {"total": len(ids), **statuses}


def live_state(exercise: Exercise, now: datetime | None = None) -> LiveState:
    wall = (now or utcnow()).timestamp()
    clock = clock_for(exercise)
    state = LiveState(
        exercise=exercise,
        scenario_seconds=clock.scenario_seconds_at(wall),
        active_seconds=clock.active_seconds_at(wall),
    )
    state.stages, state.problem = _stages(exercise)
    state.alerts = _alert_counts(exercise)
    state.incidents = list(
        db.session.scalars(
            sa.select(Incident)
            .where(Incident.exercise_id == exercise.id)
            .order_by(Incident.id)
        )
    )
    state.responses = list(
        db.session.scalars(
            sa.select(ResponseActionRecord)
            .where(ResponseActionRecord.exercise_id == exercise.id)
            .order_by(ResponseActionRecord.seq)
        )
    )
    state.crisis = list(
        db.session.scalars(
            sa.select(CrisisDelivery)
            .where(CrisisDelivery.exercise_id == exercise.id)
            .order_by(CrisisDelivery.delivered_at)
        )
    )
    state.activity_counts = dict(
        db.session.execute(
            sa.select(Activity.kind, sa.func.count())
            .where(Activity.exercise_id == exercise.id)
            .group_by(Activity.kind)
        ).all()
    )
    state.activity = activity_log(exercise, limit=RECENT_ACTIVITY)
    return state


def activity_log(
    exercise: Exercise, *, limit: int = 500, after_id: int = 0
) -> list[Activity]:
    rows = db.session.scalars(
        sa.select(Activity)
        .where(Activity.exercise_id == exercise.id, Activity.id > after_id)
        .order_by(Activity.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def pending_injects(exercise: Exercise) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(InjectInstance)
            .where(
                InjectInstance.exercise_id == exercise.id,
                InjectInstance.state == "pending",
            )
        )
        or 0
    )


# --- interventions --------------------------------------------------------------


def send_hint(recorder: Recorder, exercise: Exercise, stage_id: str, text: str) -> Done:
    """A nudge to the team: a highlighted message in their channel. The stage it
    concerns counts as assisted (activity ``hint``)."""
    if not exercise.active:
        raise Invalid(
            "hints go to an exercise in play", {"exercise": exercise.state.value}
        )
    stages, _problem = _stages(exercise)
    known = {stage.id for stage in stages}
    if stage_id and stage_id not in known:
        raise Invalid(
            f"no stage {stage_id!r} in this scenario", {"stage_id": "unknown"}
        )
    message = ChatMessage(
        team_id=exercise.team_id,
        author_id=recorder.actor.id,
        kind="hint",
        body=text,
        mentions=[],
        refs=[],
    )
    db.session.add(message)
    db.session.flush()
    journal.append_room_event(
        journal.team_room(exercise.team_id),
        "chat.new",
        {"message_id": message.id, "kind": "hint"},
        exercise_id=exercise.id,
    )
    audit.record(
        "exercise.hint",
        actor=recorder.actor,
        tenant_id=exercise.tenant_id,
        target=exercise,
        detail={"stage_id": stage_id},
    )
    recorder.record(
        exercise,
        "hint",
        [stage_id] if stage_id else [],
        target_type="stage",
        fields={"message_id": message.id},
    )
    return Done("hint sent to the team", {"message_id": message.id})


def send_crisis_message(
    actor: User,
    exercise: Exercise,
    *,
    channel: str,
    sender: str,
    subject: str,
    message: str,
    reply_within_minutes: float | None,
) -> Done:
    """An ad-hoc crisis message from the control cell, straight into the inbox."""
    with write_transaction():
        locked = db.session.get(Exercise, exercise.id)
        if locked is None or not locked.active:
            raise Invalid("crisis messages go to an exercise in play")
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CrisisDelivery)
            .where(CrisisDelivery.exercise_id == locked.id)
        )
        now = utcnow()
        delivery = CrisisDelivery(
            exercise_id=locked.id,
            inject_id=f"control-{(count or 0) + 1}",
            channel=channel,
            sender=sender,
            subject=subject,
            message=message,
            due_scenario_seconds=clock_for(locked).scenario_seconds_at(now.timestamp()),
            delivered_at=now,
            reply_within_seconds=(
                reply_within_minutes * 60 if reply_within_minutes is not None else None
            ),
            held=False,
        )
        db.session.add(delivery)
        db.session.flush()
        journal.append_room_event(
            journal.team_room(locked.team_id),
            "crisis.new",
            crisis.public_notice(delivery),
            exercise_id=locked.id,
        )
        journal.append_event(
            locked,
            "crisis.delivered",
            {**crisis.public_notice(delivery), "message": message, "held": False},
            room=journal.control_room(locked.id),
        )
        audit.record(
            "exercise.crisis_message",
            actor=actor,
            tenant_id=locked.tenant_id,
            target=locked,
            detail={"delivery_id": delivery.id, "channel": channel},
        )
        return Done("crisis message delivered", {"delivery_id": delivery.id})


def release(actor: User, exercise: Exercise, delivery_id: int) -> Done:
    delivery = db.session.get(CrisisDelivery, delivery_id)
    if delivery is None or delivery.exercise_id != exercise.id:
        raise NotFound(f"no crisis message {delivery_id} in this exercise")
    with write_transaction():
        try:
            # Joins this transaction: the release and its audit row commit together.
            released = crisis.release_delivery(delivery_id, actor)
        except crisis.CrisisError as error:
            raise Invalid(str(error)) from None
        audit.record(
            "exercise.crisis_release",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=exercise,
            detail={"delivery_id": delivery_id, "released": released},
        )
    return Done(
        "released to the team" if released else "already with the team",
        {"delivery_id": delivery_id},
    )
