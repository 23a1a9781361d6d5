"""Tenants: the monitored environments (a customer, or a part of the company)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from socdrill.models.base import Base, enum_column, utcnow
from socdrill.models.people import team_tenants

if TYPE_CHECKING:
    from socdrill.models.people import Team


class NoiseProfile(enum.StrEnum):
    """How much benign background activity the tenant's sensors produce."""

    QUIET = "quiet"
    OFFICE = "office"
    BUSY = "busy"


class Tenant(Base):
    """A monitored environment with its saved synthetic organisation.

    ``live`` marks a tenant that also receives real imported or forwarded data, so
    the console can say which alerts are synthetic.
    """

    __tablename__ = "tenants"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    organisation: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    organisation_seed: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    organisation_size: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    noise_profile: so.Mapped[NoiseProfile] = so.mapped_column(
        enum_column(NoiseProfile, 16), default=NoiseProfile.OFFICE
    )
    retention_days: so.Mapped[int] = so.mapped_column(default=730)
    live: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    teams: so.Mapped[list[Team]] = so.relationship(
        secondary=team_tenants, back_populates="tenants"
    )

    __table_args__ = (
        sa.CheckConstraint("retention_days > 0", name="retention_positive"),
    )
