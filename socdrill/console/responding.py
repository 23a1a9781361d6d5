"""Response actions from an event, an alert or an incident, and the crisis inbox.

Both act through the engine (``socdrill.engine.actions.perform_response`` and
``socdrill.engine.crisis.record_crisis_reply``), which writes the activity row; the
console only works out which exercise and target the person means, and names them
in the confirmation (a secret drill is named only as its tenant's sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from simulator import vocabulary
from socdrill import tenancy
from socdrill.console import incidents, siem_access, triage
from socdrill.console.activity import Done
from socdrill.console.errors import ConsoleError, Invalid, NotFound
from socdrill.console.scope import (
    IN_PLAY,
    exercise_in_play_for_tenant,
    exercise_label,
    tenants_of,
)
from socdrill.database import write_transaction
from socdrill.engine import actions, crisis
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import (
    CrisisDelivery,
    Exercise,
    ExerciseState,
    IncidentEntry,
    Membership,
    Tenant,
    User,
)

ACTION_LABELS = {
    "isolate_host": "Isolate host",
    "release_host": "Release host",
    "disable_account": "Disable account",
    "enable_account": "Enable account",
    "reset_password": "Reset password of",
    "block_ip": "Block IP address",
    "unblock_ip": "Unblock IP address",
    "block_domain": "Block domain",
    "unblock_domain": "Unblock domain",
    "kill_process": "Kill process on",
    "quarantine_file": "Quarantine file on",
    "revoke_sessions": "Revoke sessions of",
    "disable_access_key": "Disable access keys of",
}


class ActionFailed(ConsoleError):
    """The engine refused the action; its status and message are kept."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = {404: "not_found", 409: "conflict", 403: "forbidden"}.get(
            status, "bad_request"
        )


@dataclass(frozen=True)
class Source:
    """Where the action was started from (exactly one, or a tenant slug)."""

    alert_id: int | None = None
    incident_id: int | None = None
    event_id: int | None = None
    tenant: str = ""


@dataclass(frozen=True)
class Plan:
    """The exercise and target an action would hit, and how to say so."""

    exercise: Exercise
    tenant: Tenant
    action: str
    target: str
    confirmation: str
    incident_id: int | None = None


def _in_play(exercise: Exercise | None) -> Exercise | None:
    return exercise if exercise is not None and exercise.state in IN_PLAY else None


def _origin(user: User, source: Source) -> tuple[Tenant, Exercise | None, int | None]:
    """The tenant, the exercise the source belongs to, and the incident if any."""
    given = [v for v in (source.alert_id, source.incident_id, source.event_id) if v]
    if len(given) > 1:
        raise Invalid("start from one alert, incident or event", {"source": "several"})
    if source.alert_id:
        view = triage.alert_view(user, source.alert_id)
        tenant = next(t for t in tenants_of(user) if t.slug == view.alert.tenant)
        return tenant, triage.exercise_of(view.alert), None
    if source.incident_id:
        incident = incidents.incident_or_404(source.incident_id, user)
        exercise = (
            db.session.get(Exercise, incident.exercise_id)
            if incident.exercise_id
            else None
        )
        return incident.tenant, exercise, incident.id
    if source.event_id:
        tenants = {siem_access.tenant_key(t): t for t in tenants_of(user)}
        found = siem_access.get_events([source.event_id], list(tenants))
        if not found:
            raise NotFound(f"no event {source.event_id} in your tenants")
        exercise_id = siem_access.exercise_id_of(found[0].exercise)
        exercise = db.session.get(Exercise, exercise_id) if exercise_id else None
        return tenants[found[0].tenant], exercise, None
    if not source.tenant:
        raise Invalid(
            "start from an alert, an incident, an event or a tenant",
            {"source": "required"},
        )
    tenant = next((t for t in tenants_of(user) if t.slug == source.tenant), None)
    if tenant is None:
        raise NotFound(f"no tenant {source.tenant!r} in your scope")
    return tenant, None, None


def plan(user: User, action: str, target: str, source: Source) -> Plan:
    """Which exercise's sandbox ``action`` on ``target`` would change."""
    if action not in vocabulary.RESPONSE_ACTIONS:
        raise Invalid(f"unknown response action {action!r}", {"action": "unknown"})
    if not target.strip():
        raise Invalid("name the target", {"target": "required"})
    tenant, exercise, incident_id = _origin(user, source)
    if exercise is not None and exercise.tenant_id != tenant.id:
        exercise = None
    exercise = _in_play(exercise) or exercise_in_play_for_tenant(tenant.id, user)
    if exercise is None:
        raise ActionFailed(
            f"no exercise is in play on {tenant.name}: response actions act only "
            "on the sandbox of a running exercise",
            409,
        )
    label = ACTION_LABELS[action]
    where = exercise_label(exercise, user)
    confirmation = f"{label} “{target.strip()}” in {where} (tenant {tenant.name})?"
    return Plan(exercise, tenant, action, target.strip(), confirmation, incident_id)


def perform(user: User, chosen: Plan, key: str) -> Done:
    """Take the planned action through the engine (one ``response`` activity row)."""
    try:
        outcome = actions.perform_response(
            chosen.exercise, chosen.action, chosen.target, user, key
        )
    except actions.ResponseActionError as error:
        raise ActionFailed(str(error), error.status) from None
    if chosen.incident_id and not outcome.replayed:
        with write_transaction():
            db.session.add(
                IncidentEntry(
                    incident_id=chosen.incident_id,
                    actor_id=user.id,
                    kind="response",
                    text=f"{ACTION_LABELS[outcome.action]} {outcome.target}",
                    data={"action": outcome.action, "target": outcome.target},
                )
            )
    return Done(
        outcome.message,
        {
            "action": outcome.action,
            "target": outcome.target,
            "seq": outcome.seq,
            "exercise": exercise_label(chosen.exercise, user),
        },
        activity_ids=[outcome.activity_id],
        replayed=outcome.replayed,
    )


def containment(user: User, tenant: Tenant) -> dict[str, list[str]]:
    """What is contained now in the exercise in play on ``tenant`` (for the pages)."""
    exercise = exercise_in_play_for_tenant(tenant.id, user)
    if exercise is None:
        return {}
    return actions.response_state(exercise.id)


# --- crisis inbox ---------------------------------------------------------------


@dataclass
class InboxItem:
    """A crisis message as the inbox shows it."""

    delivery: CrisisDelivery
    exercise: Exercise
    deadline: datetime | None
    replies: list[tuple[str, datetime, str]]


def _inbox_exercises(user: User) -> list[Exercise]:
    statement = tenancy.scoped(sa.select(Exercise), Exercise.tenant_id, user).where(
        Exercise.state.in_(
            (ExerciseState.RUNNING, ExerciseState.PAUSED, ExerciseState.ENDED)
        )
    )
    if user.role not in tenancy.CONTROL_ROLES:
        statement = statement.join(
            Membership, Membership.team_id == Exercise.team_id
        ).where(Membership.user_id == user.id, Membership.left_at.is_(None))
    return list(db.session.scalars(statement.order_by(Exercise.id.desc()).limit(20)))


def deadline_of(delivery: CrisisDelivery, exercise: Exercise) -> datetime | None:
    """The wall-clock instant the reply is due (scenario time mapped to the clock)."""
    if delivery.reply_within_seconds is None:
        return None
    wall = clock_for(exercise).wall_time_for_scenario(
        delivery.due_scenario_seconds + delivery.reply_within_seconds
    )
    return datetime.fromtimestamp(wall, UTC) if wall is not None else None


def inbox(user: User) -> list[InboxItem]:
    """Crisis messages of the exercises of ``user``'s teams, newest first."""
    items: list[InboxItem] = []
    for exercise in _inbox_exercises(user):
        for delivery in crisis.inbox(exercise, user):
            replies = [
                (
                    reply_author(reply.actor_id),
                    reply.at,
                    reply.text,
                )
                for reply in delivery.replies
            ]
            items.append(
                InboxItem(delivery, exercise, deadline_of(delivery, exercise), replies)
            )
    items.sort(key=lambda item: item.delivery.delivered_at, reverse=True)
    return items


def reply_author(user_id: int | None) -> str:
    person = db.session.get(User, user_id) if user_id else None
    return person.username if person else "someone"


def delivery_or_404(user: User, delivery_id: int) -> InboxItem:
    for item in inbox(user):
        if item.delivery.id == delivery_id:
            return item
    raise NotFound(f"no crisis message {delivery_id} in your inbox")


def reply(user: User, delivery_id: int, text: str, key: str) -> Done:
    """Answer a crisis message (the engine records it with its time)."""
    item = delivery_or_404(user, delivery_id)
    try:
        outcome = crisis.record_crisis_reply(
            item.exercise, delivery_id, user, text, key
        )
    except crisis.CrisisError as error:
        raise ActionFailed(str(error), error.status) from None
    return Done(
        "reply sent",
        {"delivery_id": delivery_id, "reply_id": outcome.reply_id},
        activity_ids=[outcome.activity_id],
        replayed=outcome.replayed,
    )
