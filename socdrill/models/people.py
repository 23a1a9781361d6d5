"""People: accounts and roles, API tokens, teams, memberships with history, shifts."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from socdrill.models.base import Base, enum_column, utcnow

if TYPE_CHECKING:
    from socdrill.models.tenants import Tenant


class Role(enum.StrEnum):
    """What a person may do on the platform (see socdrill/rbac.py)."""

    ADMIN = "admin"
    MANAGER = "manager"
    LEAD = "lead"
    ANALYST = "analyst"
    HR = "hr"
    OBSERVER = "observer"


class Job(enum.StrEnum):
    """What a member does inside a team; a membership without a job is staff."""

    L1_MONITORING = "l1_monitoring"
    L2_INVESTIGATION = "l2_investigation"
    L3_RESPONSE = "l3_response"
    DETECTION_ENGINEERING = "detection_engineering"
    KNOWLEDGE_MANAGER = "knowledge_manager"
    LEAD = "lead"


def new_session_nonce() -> str:
    return secrets.token_hex(16)


class User(UserMixin, Base):
    """An account. ``session_nonce`` is part of the login session: changing it ends
    every session of the user (logout, password change, disable)."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    role: so.Mapped[Role] = so.mapped_column(enum_column(Role, 16))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # "Launch an exercise" is a separate right from managing one.
    can_launch: so.Mapped[bool] = so.mapped_column(default=False)
    session_nonce: so.Mapped[str] = so.mapped_column(
        sa.String(32), default=new_session_nonce
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    password_changed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_login_at: so.Mapped[datetime | None]

    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="user", foreign_keys="Membership.user_id"
    )
    api_tokens: so.WriteOnlyMapped[ApiToken] = so.relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at login
        return self.active

    def get_id(self) -> str:
        """The login session stores id and nonce; a rotated nonce ends the session."""
        return f"{self.id}:{self.session_nonce}"

    def rotate_session_nonce(self) -> None:
        self.session_nonce = new_session_nonce()

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def active_memberships(self) -> list[Membership]:
        return [m for m in self.memberships if m.left_at is None]

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    # The first characters after the prefix, to recognise a token in lists.
    hint: so.Mapped[str] = so.mapped_column(sa.String(16))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    revoked_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(back_populates="api_tokens")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


team_tenants = sa.Table(
    "team_tenants",
    Base.metadata,
    sa.Column(
        "team_id", sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "tenant_id", sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Team(Base):
    """A SOC team; it monitors the tenants assigned to it."""

    __tablename__ = "teams"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    memberships: so.Mapped[list[Membership]] = so.relationship(back_populates="team")
    shifts: so.Mapped[list[Shift]] = so.relationship(back_populates="team")
    tenants: so.Mapped[list[Tenant]] = so.relationship(
        secondary=team_tenants, back_populates="teams"
    )

    def active_memberships(self) -> list[Membership]:
        return [m for m in self.memberships if m.left_at is None]


class Shift(Base):
    """A recurring shift of a team, in the team's local time zone."""

    __tablename__ = "shifts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    # Minutes after local midnight; an end before the start crosses midnight.
    start_minute: so.Mapped[int]
    end_minute: so.Mapped[int]
    # ISO weekdays, 1 = Monday.
    weekdays: so.Mapped[list[Any]] = so.mapped_column(default=lambda: [1, 2, 3, 4, 5])
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    on_call: so.Mapped[bool] = so.mapped_column(default=False)

    team: so.Mapped[Team] = so.relationship(back_populates="shifts")

    __table_args__ = (
        sa.UniqueConstraint("team_id", "name"),
        sa.CheckConstraint(
            "start_minute >= 0 AND start_minute < 1440 "
            "AND end_minute >= 0 AND end_minute < 1440",
            name="minutes_in_day",
        ),
    )


class Membership(Base):
    """One stint of a person in a team. Rows are never rewritten: a change of job or
    shift closes the current row (``left_at``) and opens a new one, so cohesion and
    turnover can be computed from history."""

    __tablename__ = "memberships"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    job: so.Mapped[Job | None] = so.mapped_column(enum_column(Job, 32))
    shift_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("shifts.id", ondelete="SET NULL")
    )
    joined_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    left_at: so.Mapped[datetime | None]

    team: so.Mapped[Team] = so.relationship(back_populates="memberships")
    user: so.Mapped[User] = so.relationship(
        back_populates="memberships", foreign_keys=[user_id]
    )
    shift: so.Mapped[Shift | None] = so.relationship()

    @property
    def active(self) -> bool:
        return self.left_at is None
