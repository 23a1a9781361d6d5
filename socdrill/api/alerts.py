"""Alert queue endpoints: list with filters and counts, detail, triage actions."""

from __future__ import annotations

from simulator.events import iso_ms
from socdrill.api import bp
from socdrill.api.common import act
from socdrill.api.operations import operation
from socdrill.api.schemas.alerts import (
    AckBody,
    AlertDetail,
    AlertEvent,
    AlertOut,
    AlertPage,
    AlertQuery,
    AssignBody,
    CloseBody,
    EscalateBody,
    GroupCount,
)
from socdrill.api.schemas.common import ActionResult
from socdrill.console import incidents, siem_access, triage
from socdrill.console.scope import me, tenants_of

TAG = "alerts"


def alert_out(view: triage.AlertView) -> AlertOut:
    alert = view.alert
    return AlertOut(
        id=alert.id,
        rule_id=alert.rule_id,
        rule_title=alert.rule_title,
        severity=alert.level,
        tenant=alert.tenant,
        tenant_name=view.tenant_name,
        host=alert.host,
        first_ts=alert.first_ts,
        last_ts=alert.last_ts,
        event_count=alert.event_count,
        techniques=list(alert.techniques),
        tactics=list(alert.tactics),
        status=view.status,
        assignee=view.assignee,
        verdict=view.verdict,
        reason=view.reason,
        incident_id=view.incident_id,
    )


def queue_filter(query: AlertQuery) -> triage.QueueFilter:
    return triage.QueueFilter(
        tenant=query.tenant,
        levels=tuple(query.severity),
        statuses=tuple(query.status),
        rule=query.rule,
        host=query.host,
        assignee=query.assignee,
    )


@operation(
    bp,
    "/alerts",
    "GET",
    summary="The alert queue, filtered, with counts",
    tag=TAG,
    query=AlertQuery,
    response=AlertPage,
    errors=(404,),
)
def alerts(query: AlertQuery) -> AlertPage:
    """Alerts of your tenants, newest first, with counts per rule, severity, host
    and status of everything the filters match."""
    page = triage.queue(
        me(), queue_filter(query), limit=query.limit, offset=query.offset
    )
    return AlertPage(
        alerts=[alert_out(view) for view in page.alerts],
        total=page.total,
        groups={
            name: [GroupCount(key=k, label=label, count=n) for k, label, n in counts]
            for name, counts in page.groups.items()
        },
    )


@operation(
    bp,
    "/alerts/<int:alert_id>",
    "GET",
    summary="One alert and its events",
    tag=TAG,
    response=AlertDetail,
)
def alert(alert_id: int) -> AlertDetail:
    view = triage.alert_view(me(), alert_id)
    tenants = [siem_access.tenant_key(t) for t in tenants_of(me())]
    event_ids = siem_access.alert_event_ids(alert_id)[:200]
    events = siem_access.get_events(event_ids, tenants)
    return AlertDetail(
        alert=alert_out(view),
        events=[
            AlertEvent(
                id=e.id,
                ts=iso_ms(e.event.ts),
                sensor=e.event.sensor,
                host=e.event.host,
                raw=e.event.raw,
            )
            for e in events
        ],
    )


@operation(
    bp,
    "/alerts/ack",
    "POST",
    summary="Acknowledge alerts (take ownership)",
    tag=TAG,
    body=AckBody,
    response=ActionResult,
    errors=(404, 409),
)
def alerts_ack(body: AckBody) -> ActionResult:
    return act(lambda rec: triage.acknowledge(rec, body.alert_ids))


@operation(
    bp,
    "/alerts/assign",
    "POST",
    summary="Assign alerts to a colleague",
    tag=TAG,
    body=AssignBody,
    response=ActionResult,
    errors=(404, 409),
)
def alerts_assign(body: AssignBody) -> ActionResult:
    return act(lambda rec: triage.assign(rec, body.alert_ids, body.assignee))


@operation(
    bp,
    "/alerts/close",
    "POST",
    summary="Close alerts with a verdict and a reason",
    tag=TAG,
    body=CloseBody,
    response=ActionResult,
    errors=(404, 409),
)
def alerts_close(body: CloseBody) -> ActionResult:
    return act(lambda rec: triage.close(rec, body.alert_ids, body.verdict, body.reason))


@operation(
    bp,
    "/alerts/escalate",
    "POST",
    summary="Escalate alerts into a new or an existing incident",
    tag=TAG,
    body=EscalateBody,
    response=ActionResult,
    status=200,
    errors=(404, 409),
)
def alerts_escalate(body: EscalateBody) -> ActionResult:
    return act(
        lambda rec: incidents.escalate(
            rec, body.alert_ids, body.incident_id, body.title or ""
        )
    )
