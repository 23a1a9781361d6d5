"""Exercises: the drill itself, its approvals, trusted agents, clock segments,
inject instances and the per-room event log used for live updates.

The database is the source of truth (ARCHITECTURE.md rule 1): the exercise clock is
computed from ``exercise_clock_segments`` and injects fire from ``inject_instances``
with a compare-and-set, so a restart resumes exactly and never fires twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from socdrill.models.base import Base, enum_column, utcnow

if TYPE_CHECKING:
    from socdrill.models.people import Team, User
    from socdrill.models.tenants import Tenant


class ExerciseState(enum.StrEnum):
    """draft → scheduled → running ⇄ paused → ended (ENDEX) → reviewed."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"
    REVIEWED = "reviewed"


class CatchUpPolicy(enum.StrEnum):
    """What a restart does with injects that fell due while nothing was running."""

    CATCH_UP = "catch_up"  # fire them in order, marked late
    SKIP = "skip"  # mark them missed, visible to control


class InjectState(enum.StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"
    MISSED = "missed"


class Exercise(Base):
    """One run of a scenario against a tenant by a team."""

    __tablename__ = "exercises"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    tenant_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tenants.id", ondelete="RESTRICT"), index=True
    )
    team_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )
    scenario_id: so.Mapped[str] = so.mapped_column(sa.String(80))
    # The scenario as it was when the exercise was created: later edits of the
    # library never change a planned or recorded exercise.
    scenario_yaml: so.Mapped[str] = so.mapped_column(sa.Text)
    scenario_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    announced: so.Mapped[bool] = so.mapped_column(default=True)
    state: so.Mapped[ExerciseState] = so.mapped_column(
        enum_column(ExerciseState, 16), default=ExerciseState.DRAFT, index=True
    )
    window_start: so.Mapped[datetime | None]
    window_end: so.Mapped[datetime | None]
    # ISO dates (YYYY-MM-DD, UTC) on which an unannounced drill may not start.
    blackout_dates: so.Mapped[list[Any]] = so.mapped_column(default=list)
    scheduled_start: so.Mapped[datetime | None]
    max_duration_seconds: so.Mapped[int] = so.mapped_column(default=8 * 3600)
    speed_factor: so.Mapped[float] = so.mapped_column(default=1.0)
    catch_up_policy: so.Mapped[CatchUpPolicy] = so.mapped_column(
        enum_column(CatchUpPolicy, 16), default=CatchUpPolicy.CATCH_UP
    )
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    started_at: so.Mapped[datetime | None]
    ended_at: so.Mapped[datetime | None]
    endex_reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    emergency_at: so.Mapped[datetime | None]
    reviewed_at: so.Mapped[datetime | None]

    tenant: so.Mapped[Tenant] = so.relationship()
    team: so.Mapped[Team] = so.relationship()
    created_by: so.Mapped[User | None] = so.relationship(foreign_keys=[created_by_id])
    approvals: so.Mapped[list[ExerciseApproval]] = so.relationship(
        back_populates="exercise", order_by="ExerciseApproval.id"
    )
    trusted_agents: so.Mapped[list[TrustedAgent]] = so.relationship(
        back_populates="exercise", order_by="TrustedAgent.id"
    )
    clock_segments: so.Mapped[list[ExerciseClockSegment]] = so.relationship(
        order_by="ExerciseClockSegment.seq"
    )

    __table_args__ = (
        sa.CheckConstraint("speed_factor > 0", name="speed_positive"),
        sa.CheckConstraint("max_duration_seconds > 0", name="max_duration_positive"),
    )

    @property
    def active(self) -> bool:
        return self.state in (ExerciseState.RUNNING, ExerciseState.PAUSED)

    @property
    def finished(self) -> bool:
        return self.state in (ExerciseState.ENDED, ExerciseState.REVIEWED)

    def is_trusted_agent(self, user_id: int) -> bool:
        return any(agent.user_id == user_id for agent in self.trusted_agents)


class ExerciseApproval(Base):
    """A manager's approval; unannounced drills need one from a second manager."""

    __tablename__ = "exercise_approvals"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    approver_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT")
    )
    approved_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    exercise: so.Mapped[Exercise] = so.relationship(back_populates="approvals")
    approver: so.Mapped[User] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("exercise_id", "approver_id"),)


class TrustedAgent(Base):
    """A participant who knows about an unannounced drill and may stop it."""

    __tablename__ = "trusted_agents"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT")
    )
    added_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    exercise: so.Mapped[Exercise] = so.relationship(back_populates="trusted_agents")
    user: so.Mapped[User] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("exercise_id", "user_id"),)


class ExerciseClockSegment(Base):
    """From ``wall_start`` until the next segment, the clock runs (or is paused) at
    ``speed_factor`` scenario seconds per active second (SCORING.md B1)."""

    __tablename__ = "exercise_clock_segments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE")
    )
    seq: so.Mapped[int]
    wall_start: so.Mapped[datetime]
    speed_factor: so.Mapped[float]
    running: so.Mapped[bool]

    __table_args__ = (
        sa.UniqueConstraint("exercise_id", "seq"),
        sa.CheckConstraint("speed_factor > 0", name="speed_positive"),
    )


class InjectInstance(Base):
    """One planned inject of one exercise; fired at most once (compare-and-set)."""

    __tablename__ = "inject_instances"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE")
    )
    inject_key: so.Mapped[str] = so.mapped_column(sa.String(120))
    # Due times are scenario seconds, never wall-clock instants.
    due_scenario_seconds: so.Mapped[float]
    state: so.Mapped[InjectState] = so.mapped_column(
        enum_column(InjectState, 16), default=InjectState.PENDING
    )
    fired_at: so.Mapped[datetime | None]
    late: so.Mapped[bool] = so.mapped_column(default=False)
    lateness_seconds: so.Mapped[float] = so.mapped_column(default=0.0)

    __table_args__ = (
        sa.UniqueConstraint("exercise_id", "inject_key"),
        sa.Index(
            "ix_inject_instances_due", "exercise_id", "state", "due_scenario_seconds"
        ),
    )


class ExerciseEvent(Base):
    """The per-room event log behind live updates: clients replay by ``seq``.

    Tenant and team rooms carry events that belong to no exercise (an alert on
    live background traffic), so ``exercise_id`` may be empty.
    """

    __tablename__ = "exercise_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    room: so.Mapped[str] = so.mapped_column(sa.String(80))
    seq: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("room", "seq"),)
