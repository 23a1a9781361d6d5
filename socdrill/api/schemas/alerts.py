"""Schemas of the alert queue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socdrill.api.schemas.common import AlertIds, Id, Input, Output, Reason, Title
from socdrill.models import AlertStatus, Verdict

Level = Literal["informational", "low", "medium", "high", "critical"]


class AlertQuery(Input):
    """Filters of the queue; repeat ``severity`` and ``status`` to ask for several."""

    tenant: str = Field("", max_length=40, description="tenant slug; empty: all yours")
    severity: list[Level] = Field(default_factory=list)
    status: list[AlertStatus] = Field(default_factory=list)
    rule: str = Field("", max_length=200, description="rule id, or words of its title")
    host: str = Field("", max_length=255)
    assignee: str = Field("", max_length=64, description="'me', 'none' or a username")
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=100_000)


class AlertOut(Output):
    id: int
    rule_id: str
    rule_title: str
    severity: str = Field(description="the rule's level")
    tenant: str
    tenant_name: str
    host: str
    first_ts: str
    last_ts: str
    event_count: int
    techniques: list[str]
    tactics: list[str]
    status: AlertStatus
    assignee: str | None
    verdict: Verdict | None
    reason: str
    incident_id: int | None


class GroupCount(Output):
    key: str
    label: str
    count: int


class AlertPage(Output):
    alerts: list[AlertOut]
    total: int
    groups: dict[str, list[GroupCount]] = Field(
        description="counts of the filtered alerts by rule, severity, host and status"
    )


class AlertEvent(Output):
    id: int
    ts: str
    sensor: str
    host: str
    raw: str


class AlertDetail(Output):
    alert: AlertOut
    events: list[AlertEvent]


class AckBody(Input):
    alert_ids: AlertIds


class AssignBody(Input):
    alert_ids: AlertIds
    assignee: str | None = Field(None, max_length=64, description="null: unassign")


class CloseBody(Input):
    alert_ids: AlertIds
    verdict: Verdict = Field(description="tp, fp or benign (benign true positive)")
    reason: Reason


class EscalateBody(Input):
    """Escalate into an existing incident, or into a new one with ``title``."""

    alert_ids: AlertIds
    incident_id: Id | None = None
    title: Title | None = None
