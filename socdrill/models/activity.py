"""The activity log: every participant action in an exercise, for scoring.

Client actions carry an idempotency key, so a retried request has one effect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from socdrill.models.base import Base, utcnow


class Activity(Base):
    __tablename__ = "activities"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    exercise_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # Active seconds (SCORING.md B1) at which the action counts.
    active_seconds: so.Mapped[float] = so.mapped_column(default=0.0)
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    target_type: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    target_id: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    idempotency_key: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    __table_args__ = (sa.UniqueConstraint("exercise_id", "idempotency_key"),)
