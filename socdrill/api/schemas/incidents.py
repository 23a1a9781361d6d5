"""Schemas of incidents (SIRP)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from socdrill.api.schemas.common import (
    Id,
    Input,
    NoteText,
    Output,
    Section,
    ShortText,
    TechniqueId,
    Tier,
    Title,
    Version,
)
from socdrill.models import IncidentStatus

IdList = Field(default=None, max_length=500)


class Asset(Input):
    kind: Literal["host", "account", "ip"]
    value: str = Field(min_length=1, max_length=255)


class IncidentCreate(Input):
    """Open an incident from alerts (an escalation) or from scratch (name a tenant)."""

    title: Title
    tenant: str = Field("", max_length=40)
    severity: Tier = "P3"
    alert_ids: list[Id] = Field(default_factory=list, max_length=200)
    event_ids: list[Id] = Field(default_factory=list, max_length=500)
    context: Section = ""


class IncidentUpdate(Input):
    """Only the fields present change. ``version``: the one you loaded (optional)."""

    version: Version | None = None
    title: Title | None = None
    severity: Tier | None = None
    context: Section | None = None
    facts: Section | None = None
    analysis: Section | None = None
    conclusion: Section | None = None
    remediation: Section | None = None
    impact: Section | None = None
    techniques: list[TechniqueId] | None = Field(None, max_length=100)
    iocs: list[str] | None = Field(None, max_length=200)
    assets: list[Asset] | None = Field(None, max_length=200)
    alert_ids: list[Id] | None = IdList
    event_ids: list[Id] | None = IdList
    kb_article_ids: list[Id] | None = Field(None, max_length=100)


class StatusBody(Input):
    status: IncidentStatus
    note: ShortText = ""


class NoteBody(Input):
    text: NoteText


class AssigneesBody(Input):
    assignees: list[str] = Field(max_length=20)


class HandoffNote(Input):
    open_items: ShortText = ""
    status: ShortText = ""
    iocs: ShortText = ""
    next_step: ShortText = ""


class HandoffBody(Input):
    to: str = Field(min_length=1, max_length=64, description="the receiver's username")
    note: HandoffNote


class ReportBody(Input):
    recipient: str = Field(
        min_length=3,
        max_length=200,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="the customer's (simulated) address",
    )
    message: ShortText = ""


class EntryOut(Output):
    id: int
    at: datetime
    actor: str | None
    kind: str
    text: str


class ReportOut(Output):
    id: int
    sent_at: datetime
    actor: str | None
    recipient: str
    subject: str
    body: str
    html: str = Field(description="the body as the customer reads it (sanitised HTML)")


class AssetOut(Output):
    kind: str
    value: str


class TechniqueOut(Output):
    id: str
    name: str


class IncidentSummary(Output):
    id: int
    reference: str
    title: str
    tenant: str
    severity: str
    status: IncidentStatus
    assignees: list[str]
    updated_at: datetime


class IncidentOut(IncidentSummary):
    version: int
    context: str
    facts: str
    analysis: str
    conclusion: str
    remediation: str
    impact: str
    techniques: list[TechniqueOut]
    iocs: list[str]
    assets: list[AssetOut]
    alert_ids: list[int]
    event_ids: list[int]
    kb_article_ids: list[int]
    created_by: str | None
    created_at: datetime
    timeline: list[EntryOut]
    reports: list[ReportOut]


class IncidentQuery(Input):
    status: list[IncidentStatus] = Field(default_factory=list)
    mine: bool = False


class IncidentList(Output):
    incidents: list[IncidentSummary]
