"""Crisis injects: messages that reach the team's inbox at their time, and replies.

The engine delivers a crisis message by firing its inject instance
(``crisis:<id>``) with :func:`deliver_effect`, so it reaches the inbox exactly once.
In an announced drill the team hears of it at once (``crisis.new`` in the team
room). In an unannounced drill the message is *held*: control sees it and relays
it by hand, as a white cell would, and participants see it in their inbox once
control releases it (:func:`release_delivery`) or after ENDEX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from simulator.timeline import InjectDue
from socdrill.database import write_transaction
from socdrill.exercise import journal
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    CrisisDelivery,
    CrisisReply,
    Exercise,
    ExerciseState,
    InjectInstance,
    Membership,
    Role,
    User,
    utcnow,
)

MAX_REPLY_CHARS = 20_000
CLIENT_ACTION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CONTROL_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


class CrisisError(ValueError):
    """A reply or release was refused; nothing changed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def inject_key(inject_id: str) -> str:
    return f"crisis:{inject_id}"


def deliver_effect(exercise: Exercise, inject: InjectDue, origin: float, now: datetime):
    """The effect that puts ``inject`` into the inbox (runs in the fire transaction)."""

    def effect(instance: InjectInstance) -> None:
        held = not exercise.announced
        delivery = CrisisDelivery(
            exercise_id=exercise.id,
            inject_id=inject.id,
            channel=inject.channel,
            sender=inject.sender[:200],
            subject=(inject.subject or "")[:300],
            message=inject.message,
            due_scenario_seconds=inject.due - origin,
            delivered_at=now,
            reply_within_seconds=inject.reply_within,
            held=held,
        )
        db.session.add(delivery)
        db.session.flush()
        notice = public_notice(delivery)
        journal.append_event(
            exercise,
            "crisis.delivered",
            {**notice, "message": delivery.message, "held": held},
            room=journal.control_room(exercise.id),
        )
        if not held:
            journal.append_room_event(
                journal.team_room(exercise.team_id),
                "crisis.new",
                notice,
                exercise_id=exercise.id,
            )

    return effect


def public_notice(delivery: CrisisDelivery) -> dict[str, Any]:
    """What a participant's notification says (the inbox page shows the rest)."""
    return {
        "delivery_id": delivery.id,
        "channel": delivery.channel,
        "sender": delivery.sender,
        "subject": delivery.subject,
        "reply_within_seconds": delivery.reply_within_seconds,
    }


def release_delivery(
    delivery_id: int, actor: User, now: datetime | None = None
) -> bool:
    """Control hands a held message to the participants; False if already out."""
    now = now or utcnow()
    if actor.role not in CONTROL_ROLES:
        raise CrisisError("only control may release a crisis message", 403)
    with write_transaction():
        delivery = db.session.get(CrisisDelivery, delivery_id)
        if delivery is None:
            raise CrisisError(f"crisis message {delivery_id} does not exist", 404)
        if not delivery.held or delivery.released_at is not None:
            return False
        exercise = db.session.get(Exercise, delivery.exercise_id)
        delivery.released_at = now
        journal.append_room_event(
            journal.team_room(exercise.team_id),
            "crisis.new",
            public_notice(delivery),
            exercise_id=exercise.id,
        )
        return True


def visible_to_participants(delivery: CrisisDelivery, exercise: Exercise) -> bool:
    """Whether participants may read ``delivery`` in their inbox now."""
    return (not delivery.held) or delivery.released_at is not None or exercise.finished


def inbox(exercise: Exercise, user: User) -> list[CrisisDelivery]:
    """The crisis messages of ``exercise`` that ``user`` may read, oldest first."""
    rows = list(
        db.session.scalars(
            sa.select(CrisisDelivery)
            .where(CrisisDelivery.exercise_id == exercise.id)
            .order_by(CrisisDelivery.delivered_at, CrisisDelivery.id)
        )
    )
    if user.role in CONTROL_ROLES:
        return rows
    return [row for row in rows if visible_to_participants(row, exercise)]


@dataclass(frozen=True, slots=True)
class ReplyResult:
    reply_id: int
    activity_id: int
    at: datetime
    replayed: bool


def record_crisis_reply(
    exercise: Exercise | int,
    delivery_id: int,
    actor: User,
    text: str,
    client_action_id: str,
    *,
    now: datetime | None = None,
) -> ReplyResult:
    """Record ``actor``'s reply to a crisis message, with its time, once per id.

    One activity row (``crisis_reply``) carries the time, the delivery and the
    reply's length; the text stays in the reply row.
    """
    exercise_id = exercise if isinstance(exercise, int) else exercise.id
    body = (text or "").strip()
    if not body:
        raise CrisisError("the reply is empty")
    if len(body) > MAX_REPLY_CHARS:
        raise CrisisError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    if not isinstance(client_action_id, str) or not CLIENT_ACTION_ID.match(
        client_action_id
    ):
        raise CrisisError(
            "client_action_id takes 1-64 letters, digits, '.', '_', ':' or '-'"
        )
    now = now or utcnow()
    earlier = _earlier(exercise_id, client_action_id)
    if earlier is not None:
        return earlier
    try:
        return _reply(exercise_id, delivery_id, actor, body, client_action_id, now)
    except sa.exc.IntegrityError:
        db.session.rollback()
        again = _earlier(exercise_id, client_action_id)
        if again is None:
            raise
        return again


def _earlier(exercise_id: int, client_action_id: str) -> ReplyResult | None:
    found = db.session.execute(
        sa.select(Activity, CrisisReply)
        .outerjoin(CrisisReply, CrisisReply.activity_id == Activity.id)
        .where(
            Activity.exercise_id == exercise_id,
            Activity.idempotency_key == client_action_id,
        )
    ).first()
    if found is None:
        return None
    activity, reply = found
    if reply is None:
        raise CrisisError("client_action_id was already used for another action", 409)
    return ReplyResult(reply.id, activity.id, reply.at, replayed=True)


def _reply(
    exercise_id: int,
    delivery_id: int,
    actor: User,
    body: str,
    client_action_id: str,
    now: datetime,
) -> ReplyResult:
    with write_transaction():
        exercise = db.session.get(Exercise, exercise_id)
        delivery = db.session.get(CrisisDelivery, delivery_id)
        if (
            exercise is None
            or delivery is None
            or delivery.exercise_id != exercise_id
            or (
                actor.role not in CONTROL_ROLES
                and not visible_to_participants(delivery, exercise)
            )
        ):
            raise CrisisError(f"crisis message {delivery_id} does not exist", 404)
        if not _participates(actor, exercise):
            # Outside the team the message does not exist (404, not 403).
            raise CrisisError(f"crisis message {delivery_id} does not exist", 404)
        if exercise.state not in (ExerciseState.RUNNING, ExerciseState.PAUSED):
            raise CrisisError(f"exercise {exercise_id} is not in play", 409)
        clock = clock_for(exercise)
        activity = Activity(
            exercise_id=exercise_id,
            actor_id=actor.id,
            at=now,
            active_seconds=clock.active_seconds_at(now.timestamp()),
            kind="crisis_reply",
            target_type="crisis",
            target_id=str(delivery_id),
            payload={
                "targets": [delivery.inject_id],
                "ticket": None,
                "fields": {"channel": delivery.channel, "length": len(body)},
                "result": {},
            },
            idempotency_key=client_action_id,
        )
        db.session.add(activity)
        db.session.flush()
        reply = CrisisReply(
            delivery_id=delivery_id,
            actor_id=actor.id,
            at=now,
            text=body,
            activity_id=activity.id,
        )
        db.session.add(reply)
        db.session.flush()
        journal.append_event(
            exercise,
            "crisis.replied",
            {
                "delivery_id": delivery_id,
                "inject_id": delivery.inject_id,
                "by": actor.username,
                "at": now.isoformat(),
            },
            room=journal.control_room(exercise_id),
        )
        return ReplyResult(reply.id, activity.id, now, replayed=False)


def _participates(actor: User, exercise: Exercise) -> bool:
    if actor.role in CONTROL_ROLES:
        return True
    return (
        db.session.scalar(
            sa.select(Membership.id).where(
                Membership.user_id == actor.id,
                Membership.team_id == exercise.team_id,
                Membership.left_at.is_(None),
            )
        )
        is not None
    )
