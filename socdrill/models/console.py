"""The analyst console's own records: alert triage, incidents (SIRP), saved searches,
the knowledge base and the team channel.

Alerts themselves live in the SIEM's store; their triage state lives here, keyed by
the SIEM alert id. Every change a participant makes also lands in the activity log
(``socdrill.models.activity``), which scoring reads.
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


class AlertStatus(enum.StrEnum):
    """Where an alert stands; an alert without a triage row is ``new``."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    CLOSED = "closed"


class Verdict(enum.StrEnum):
    """How an analyst closed an alert (the scorer's vocabulary)."""

    TRUE_POSITIVE = "tp"
    FALSE_POSITIVE = "fp"
    BENIGN = "benign"


class IncidentStatus(enum.StrEnum):
    """new → in progress → contained → resolved → closed."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    CONTAINED = "contained"
    RESOLVED = "resolved"
    CLOSED = "closed"


class AlertTriage(Base):
    """The workflow state of one SIEM alert (status, assignee, verdict, incident)."""

    __tablename__ = "alert_triage"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    siem_alert_id: so.Mapped[int] = so.mapped_column(unique=True)
    tenant_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    exercise_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="SET NULL")
    )
    status: so.Mapped[AlertStatus] = so.mapped_column(
        enum_column(AlertStatus, 16), default=AlertStatus.NEW, index=True
    )
    assignee_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    verdict: so.Mapped[Verdict | None] = so.mapped_column(enum_column(Verdict, 16))
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    incident_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("incidents.id", ondelete="SET NULL")
    )
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_id])


incident_assignees = sa.Table(
    "incident_assignees",
    Base.metadata,
    sa.Column(
        "incident_id",
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Incident(Base):
    """An incident ticket with the MSSP sections, tags, assets and links.

    ``version`` grows with every change, so an editor working on a stale copy is
    told to reload instead of overwriting a colleague's work.
    """

    __tablename__ = "incidents"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    tenant_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    exercise_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="SET NULL"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    severity: so.Mapped[str] = so.mapped_column(sa.String(2), default="P3")
    status: so.Mapped[IncidentStatus] = so.mapped_column(
        enum_column(IncidentStatus, 16), default=IncidentStatus.NEW, index=True
    )
    context: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    facts: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    analysis: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    conclusion: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    remediation: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    impact: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    techniques: so.Mapped[list[Any]] = so.mapped_column(default=list)
    # indicators of compromise: hashes, addresses and domains of the attacker
    iocs: so.Mapped[list[Any]] = so.mapped_column(default=list)
    # [{"kind": "host"|"account"|"ip", "value": "..."}]
    assets: so.Mapped[list[Any]] = so.mapped_column(default=list)
    alert_ids: so.Mapped[list[Any]] = so.mapped_column(default=list)
    event_ids: so.Mapped[list[Any]] = so.mapped_column(default=list)
    kb_article_ids: so.Mapped[list[Any]] = so.mapped_column(default=list)
    version: so.Mapped[int] = so.mapped_column(default=1)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    tenant: so.Mapped[Tenant] = so.relationship()
    created_by: so.Mapped[User | None] = so.relationship(foreign_keys=[created_by_id])
    assignees: so.Mapped[list[User]] = so.relationship(
        secondary=incident_assignees, order_by="User.username"
    )
    entries: so.Mapped[list[IncidentEntry]] = so.relationship(
        back_populates="incident", order_by="IncidentEntry.id"
    )
    reports: so.Mapped[list[IncidentReport]] = so.relationship(
        back_populates="incident", order_by="IncidentReport.id"
    )

    __table_args__ = (sa.CheckConstraint("version >= 1", name="version_positive"),)

    @property
    def reference(self) -> str:
        """The ticket reference people and the scorer use (``INC-12``)."""
        return f"INC-{self.id}"


class IncidentEntry(Base):
    """One line of an incident's timeline: a note, a status change, a hand-off …"""

    __tablename__ = "incident_entries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    data: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)

    incident: so.Mapped[Incident] = so.relationship(back_populates="entries")
    actor: so.Mapped[User | None] = so.relationship()


class IncidentReport(Base):
    """A report sent to the (simulated) customer, kept exactly as it was sent."""

    __tablename__ = "incident_reports"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    incident_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    sent_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    recipient: so.Mapped[str] = so.mapped_column(sa.String(200))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text)

    incident: so.Mapped[Incident] = so.relationship(back_populates="reports")
    actor: so.Mapped[User | None] = so.relationship()


class SavedSearch(Base):
    """A search an analyst kept: query, columns and time range, per tenant."""

    __tablename__ = "saved_searches"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    owner_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    tenant_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    query: so.Mapped[str] = so.mapped_column(sa.Text)
    columns: so.Mapped[list[Any]] = so.mapped_column(default=list)
    time_range: so.Mapped[str] = so.mapped_column(sa.String(16), default="24h")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("owner_id", "name"),)


class KbArticle(Base):
    """A knowledge-base article of a team, tagged with a scope and ATT&CK ids."""

    __tablename__ = "kb_articles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    scope: so.Mapped[str] = so.mapped_column(sa.String(16))
    techniques: so.Mapped[list[Any]] = so.mapped_column(default=list)
    version: so.Mapped[int] = so.mapped_column(default=1)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    team: so.Mapped[Team] = so.relationship()
    revisions: so.Mapped[list[KbRevision]] = so.relationship(
        back_populates="article", order_by="KbRevision.version"
    )


class KbRevision(Base):
    """Every saved state of an article: who wrote what, when."""

    __tablename__ = "kb_revisions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    article_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    version: so.Mapped[int]
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    scope: so.Mapped[str] = so.mapped_column(sa.String(16))
    techniques: so.Mapped[list[Any]] = so.mapped_column(default=list)
    editor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    article: so.Mapped[KbArticle] = so.relationship(back_populates="revisions")
    editor: so.Mapped[User | None] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("article_id", "version"),)


class KbView(Base):
    """Somebody read an article (knowledge sharing is part of the team's profile)."""

    __tablename__ = "kb_views"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    article_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class ChatMessage(Base):
    """A message in a team's channel, with its @mentions and alert/incident links."""

    __tablename__ = "chat_messages"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    team_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    # "message" from a member, or "hint" from the exercise's control cell
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="message")
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    # usernames mentioned with @name
    mentions: so.Mapped[list[Any]] = so.mapped_column(default=list)
    # "alert:12", "incident:3" references found in the text
    refs: so.Mapped[list[Any]] = so.mapped_column(default=list)

    author: so.Mapped[User | None] = so.relationship()
