"""Engine state: what the exercise engine has decided, delivered and been told.

Everything the engine needs to resume after a crash is here or in the exercise
tables (ARCHITECTURE.md rule 1): the organisation and role bindings an exercise
plays against, how far its events have been delivered into the SIEM, each stage's
outcome, the response actions the team took (the persisted response state), crisis
messages delivered to the inbox and the replies to them, live background noise per
tenant and a tenant's allow-listed forwarding target.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from socdrill.models.base import Base, enum_column, utcnow


class RuntimeStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # the last tick of this exercise failed; see last_error


class EngineRuntime(Base):
    """The fixed inputs and the delivery cursor of one exercise in play.

    ``origin`` is the simulated POSIX time of scenario second 0 (the wall instant
    the exercise started); an event's ``ts`` is ``origin`` plus its scenario
    seconds. ``organisation`` and ``bindings`` are snapshots taken when play
    began, so a later edit of the tenant never changes a running drill.
    """

    __tablename__ = "engine_runtimes"

    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    origin: so.Mapped[float]
    organisation: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    bindings: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    # Scenario seconds the engine has decided stages up to. Committed before the
    # engine plays that far, so a response action never takes effect earlier.
    horizon: so.Mapped[float] = so.mapped_column(default=0.0)
    # Scenario seconds up to which events have been written into the SIEM.
    delivered_until: so.Mapped[float] = so.mapped_column(default=0.0)
    status: so.Mapped[RuntimeStatus] = so.mapped_column(
        enum_column(RuntimeStatus, 16), default=RuntimeStatus.OK
    )
    last_error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class StageOutcomeRecord(Base):
    """What became of one scenario stage in one exercise (ground truth: control)."""

    __tablename__ = "stage_outcomes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    stage_id: so.Mapped[str] = so.mapped_column(sa.String(80))
    status: so.Mapped[str] = so.mapped_column(sa.String(16))  # fired|prevented|…
    due_scenario_seconds: so.Mapped[float]
    technique: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    tier: so.Mapped[str] = so.mapped_column(sa.String(4), default="")
    reason: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    fallback: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    event_count: so.Mapped[int] = so.mapped_column(default=0)
    decided_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("exercise_id", "stage_id"),)


class ResponseActionRecord(Base):
    """One response action the team took, in the order it took effect.

    ``scenario_seconds`` is when it takes effect in the attacker's time: never
    before what the engine has already played, so a replay after a restart
    decides every stage exactly as the live run did.
    """

    __tablename__ = "response_actions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE")
    )
    seq: so.Mapped[int]
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    target: so.Mapped[str] = so.mapped_column(sa.String(200))
    target_key: so.Mapped[str] = so.mapped_column(sa.String(200))
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    scenario_seconds: so.Mapped[float]
    activity_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("activities.id", ondelete="SET NULL")
    )

    __table_args__ = (sa.UniqueConstraint("exercise_id", "seq"),)


class ResponseStateRecord(Base):
    """The containment in effect for one exercise (a snapshot for pages and API).

    The ordered :class:`ResponseActionRecord` rows are the history it is built
    from; both change in the same transaction.
    """

    __tablename__ = "response_states"

    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    state: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class CrisisDelivery(Base):
    """A crisis message (phone call, mail, journalist…) delivered to the inbox.

    ``held`` deliveries belong to an unannounced drill: control sees them and
    relays them by hand, and participants see them once control releases them.
    """

    __tablename__ = "crisis_deliveries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    inject_id: so.Mapped[str] = so.mapped_column(sa.String(80))
    channel: so.Mapped[str] = so.mapped_column(sa.String(20))
    sender: so.Mapped[str] = so.mapped_column(sa.String(200))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    due_scenario_seconds: so.Mapped[float]
    delivered_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    reply_within_seconds: so.Mapped[float | None]
    held: so.Mapped[bool] = so.mapped_column(default=False)
    released_at: so.Mapped[datetime | None]

    replies: so.Mapped[list[CrisisReply]] = so.relationship(
        back_populates="delivery", order_by="CrisisReply.id"
    )

    __table_args__ = (sa.UniqueConstraint("exercise_id", "inject_id"),)


class CrisisReply(Base):
    """A participant's answer to a crisis message, with its time."""

    __tablename__ = "crisis_replies"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    delivery_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("crisis_deliveries.id", ondelete="CASCADE"), index=True
    )
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    activity_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("activities.id", ondelete="SET NULL")
    )

    delivery: so.Mapped[CrisisDelivery] = so.relationship(back_populates="replies")


class LiveEnvironment(Base):
    """Continuous background noise for a tenant, so an attack hides in normal
    traffic; ``noise_until`` is how far (POSIX seconds) noise has been written."""

    __tablename__ = "live_environments"

    tenant_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    started_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    baseline_seconds: so.Mapped[int] = so.mapped_column(default=0)
    noise_until: so.Mapped[float]
    profile: so.Mapped[str] = so.mapped_column(sa.String(20), default="office_hours")
    scale: so.Mapped[float] = so.mapped_column(default=1.0)
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)

    __table_args__ = (sa.CheckConstraint("scale > 0", name="scale_positive"),)


class ForwardingTarget(Base):
    """A tenant's allow-listed destination for a copy of its events (marked)."""

    __tablename__ = "forwarding_targets"

    tenant_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(200))
    payload: so.Mapped[str] = so.mapped_column(sa.String(8), default="raw")
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    # Id of the last SIEM event sent (the forwarding watermark).
    forwarded_until_id: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
