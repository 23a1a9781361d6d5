"""The debrief's own records: stored scores, skill states after each exercise,
evaluator grades, corrective actions, contests and integrity clearances.

A score is always recomputable from the activity log and these inputs: grades,
clearances and upheld contests are inputs of the scorer, the stored document is only
its latest answer. Grades are never rewritten; a later grade of the same ticket
section replaces the earlier one in the scorer.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from socdrill.models.base import Base, enum_column, utcnow

if TYPE_CHECKING:
    from socdrill.models.people import User


class ScoreRecord(Base):
    """The latest score document of an ended exercise (``scoring.score_exercise``)."""

    __tablename__ = "review_scores"

    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    spec_version: so.Mapped[str] = so.mapped_column(sa.String(8))
    # Kept beside the document so trend lines need not parse every document.
    tes: so.Mapped[float | None]
    announced: so.Mapped[bool] = so.mapped_column(default=True)
    document: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    # Drawn from the scorer's input at the same time (the damage curve).
    curves: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    revision: so.Mapped[int] = so.mapped_column(default=1)
    computed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    computed_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class SkillSnapshot(Base):
    """One analyst's skill cell after an exercise: the prior of their next one."""

    __tablename__ = "review_skill_states"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: so.Mapped[str] = so.mapped_column(sa.String(24))
    tactic: so.Mapped[str] = so.mapped_column(sa.String(40))
    theta: so.Mapped[float]
    evidence: so.Mapped[float]
    # Wall POSIX seconds of the last update, as the scorer keeps it.
    updated_at: so.Mapped[float | None]

    __table_args__ = (sa.UniqueConstraint("exercise_id", "user_id", "scope", "tactic"),)


class TicketGradeRecord(Base):
    """An evaluator's HSEEP grade (P/S/M/U) of one free-text ticket section."""

    __tablename__ = "review_grades"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    ticket: so.Mapped[str] = so.mapped_column(sa.String(40))
    section: so.Mapped[str] = so.mapped_column(sa.String(16))
    grade: so.Mapped[str] = so.mapped_column(sa.String(1))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    grader_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    graded_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    grader: so.Mapped[User | None] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint("grade IN ('P', 'S', 'M', 'U')", name="grade_known"),
    )


class ActionStatus(enum.StrEnum):
    """Where a corrective action stands."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class CorrectiveAction(Base):
    """An improvement-plan item: what will change, who owns it, by when (HSEEP)."""

    __tablename__ = "review_corrective_actions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    # The area for improvement it answers (copied: the seeds change on a rescore).
    finding: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    action: so.Mapped[str] = so.mapped_column(sa.Text)
    owner_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    due_date: so.Mapped[date]
    status: so.Mapped[ActionStatus] = so.mapped_column(
        enum_column(ActionStatus, 16), default=ActionStatus.OPEN
    )
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    owner: so.Mapped[User | None] = so.relationship(foreign_keys=[owner_id])


class ContestStatus(enum.StrEnum):
    """open → upheld (the input is corrected and the exercise rescored) | rejected."""

    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Contest(Base):
    """An analyst's challenge of one of their points, and the lead's resolution."""

    __tablename__ = "review_contests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # What is contested: "detection S2", "ticket INC-4", "triage 17" …
    item: so.Mapped[str] = so.mapped_column(sa.String(200))
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    status: so.Mapped[ContestStatus] = so.mapped_column(
        enum_column(ContestStatus, 16), default=ContestStatus.OPEN
    )
    resolution: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The correction an upheld contest applied ({"kind": "grade", ...}).
    correction: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    resolver_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    resolved_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])
    resolver: so.Mapped[User | None] = so.relationship(foreign_keys=[resolver_id])


class IntegrityClearance(Base):
    """Control reviewed a stage flagged ``integrity_review`` and lets it be scored."""

    __tablename__ = "review_integrity_clearances"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    stage: so.Mapped[str] = so.mapped_column(sa.String(80))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    cleared_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    cleared_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("exercise_id", "stage"),)


class ReviewRequest(Base):
    """An API request that changed something, by its Idempotency-Key: a retry with
    the same key is answered from here and changes nothing."""

    __tablename__ = "review_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    key: so.Mapped[str] = so.mapped_column(sa.String(64))
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(80))
    result: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)


class AutoScoreAttempt(Base):
    """The engine's one automatic scoring of an ended exercise (never retried).

    ``error`` is empty when the score was stored, else why it could not be (the
    debrief shows it; "Score now" still works).
    """

    __tablename__ = "review_auto_scores"

    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    attempted_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    error: so.Mapped[str] = so.mapped_column(sa.Text, default="")


class RetentionPurge(Base):
    """Individual-level data of an exercise was removed under the retention policy
    (SCORING.md HR rule 7); the team-level record stays."""

    __tablename__ = "review_retention_purges"

    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    purged_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # The policy in force: individual data is kept this many months after ENDEX.
    months: so.Mapped[int]
    # What was removed or pseudonymised, by kind ({"skill_states": 12, ...}).
    counts: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
