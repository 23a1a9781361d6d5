"""Incident (SIRP) endpoints."""

from __future__ import annotations

from simulator.scenario.attack import catalogue
from socdrill import markdown
from socdrill.api import bp
from socdrill.api.common import act
from socdrill.api.operations import operation
from socdrill.api.schemas.common import ActionResult
from socdrill.api.schemas.incidents import (
    AssetOut,
    AssigneesBody,
    EntryOut,
    HandoffBody,
    IncidentCreate,
    IncidentList,
    IncidentOut,
    IncidentQuery,
    IncidentSummary,
    IncidentUpdate,
    NoteBody,
    ReportBody,
    ReportOut,
    StatusBody,
    TechniqueOut,
)
from socdrill.console import incidents
from socdrill.console.scope import me
from socdrill.models import Incident, IncidentReport

TAG = "incidents"


def summary(incident: Incident) -> IncidentSummary:
    return IncidentSummary(
        id=incident.id,
        reference=incident.reference,
        title=incident.title,
        tenant=incident.tenant.slug,
        severity=incident.severity,
        status=incident.status,
        assignees=[person.username for person in incident.assignees],
        updated_at=incident.updated_at,
    )


def report_out(report: IncidentReport) -> ReportOut:
    return ReportOut(
        id=report.id,
        sent_at=report.sent_at,
        actor=report.actor.username if report.actor else None,
        recipient=report.recipient,
        subject=report.subject,
        body=report.body,
        html=str(markdown.render(report.body)),
    )


def detail(incident: Incident) -> IncidentOut:
    table = catalogue()
    return IncidentOut(
        **summary(incident).model_dump(),
        version=incident.version,
        context=incident.context,
        facts=incident.facts,
        analysis=incident.analysis,
        conclusion=incident.conclusion,
        remediation=incident.remediation,
        impact=incident.impact,
        techniques=[
            TechniqueOut(id=t, name=(table.get(t).name if table.get(t) else ""))
            for t in incident.techniques
        ],
        iocs=list(incident.iocs),
        assets=[AssetOut(**asset) for asset in incident.assets],
        alert_ids=list(incident.alert_ids),
        event_ids=list(incident.event_ids),
        kb_article_ids=list(incident.kb_article_ids),
        created_by=incident.created_by.username if incident.created_by else None,
        created_at=incident.created_at,
        timeline=[
            EntryOut(
                id=entry.id,
                at=entry.at,
                actor=entry.actor.username if entry.actor else None,
                kind=entry.kind,
                text=entry.text,
            )
            for entry in incident.entries
        ],
        reports=[report_out(report) for report in incident.reports],
    )


@operation(
    bp,
    "/incidents",
    "GET",
    summary="Incidents of your tenants",
    tag=TAG,
    query=IncidentQuery,
    response=IncidentList,
)
def incident_list(query: IncidentQuery) -> IncidentList:
    rows = incidents.list_incidents(me(), status=query.status, mine=query.mine)
    return IncidentList(incidents=[summary(row) for row in rows])


@operation(
    bp,
    "/incidents",
    "POST",
    summary="Open an incident",
    tag=TAG,
    body=IncidentCreate,
    response=ActionResult,
    status=201,
    errors=(404, 409),
)
def incident_create(body: IncidentCreate) -> ActionResult:
    """From alerts (an escalation: the alerts are marked escalated) or from scratch
    (name the tenant)."""
    new = incidents.NewIncident(
        title=body.title,
        severity=body.severity,
        tenant=body.tenant,
        alert_ids=body.alert_ids,
        event_ids=body.event_ids,
        sections={"context": body.context} if body.context else None,
    )
    return act(lambda rec: incidents.create(rec, new))


@operation(
    bp,
    "/incidents/<int:incident_id>",
    "GET",
    summary="One incident",
    tag=TAG,
    response=IncidentOut,
)
def incident(incident_id: int) -> IncidentOut:
    return detail(incidents.incident_or_404(incident_id, me()))


@operation(
    bp,
    "/incidents/<int:incident_id>",
    "PATCH",
    summary="Edit an incident",
    tag=TAG,
    body=IncidentUpdate,
    response=ActionResult,
    errors=(409,),
)
def incident_update(incident_id: int, body: IncidentUpdate) -> ActionResult:
    """Sections, title, severity, ATT&CK techniques, IoCs, affected assets and links.
    Send ``version`` to be told (409) when somebody else saved in between."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    changes = {key: value for key, value in changes.items() if value is not None}
    return act(lambda rec: incidents.update(rec, incident_id, changes, body.version))


@operation(
    bp,
    "/incidents/<int:incident_id>/status",
    "POST",
    summary="Move the incident through its workflow",
    tag=TAG,
    body=StatusBody,
    response=ActionResult,
    errors=(409,),
)
def incident_status(incident_id: int, body: StatusBody) -> ActionResult:
    return act(
        lambda rec: incidents.change_status(rec, incident_id, body.status, body.note)
    )


@operation(
    bp,
    "/incidents/<int:incident_id>/notes",
    "POST",
    summary="Add a note to the timeline",
    tag=TAG,
    body=NoteBody,
    response=ActionResult,
)
def incident_note(incident_id: int, body: NoteBody) -> ActionResult:
    return act(lambda rec: incidents.add_note(rec, incident_id, body.text))


@operation(
    bp,
    "/incidents/<int:incident_id>/assignees",
    "POST",
    summary="Set the incident's assignees",
    tag=TAG,
    body=AssigneesBody,
    response=ActionResult,
)
def incident_assignees(incident_id: int, body: AssigneesBody) -> ActionResult:
    return act(lambda rec: incidents.set_assignees(rec, incident_id, body.assignees))


@operation(
    bp,
    "/incidents/<int:incident_id>/handoff",
    "POST",
    summary="Hand the incident to a colleague with a note",
    tag=TAG,
    body=HandoffBody,
    response=ActionResult,
)
def incident_handoff(incident_id: int, body: HandoffBody) -> ActionResult:
    note = body.note.model_dump()
    return act(lambda rec: incidents.hand_off(rec, incident_id, body.to, note))


@operation(
    bp,
    "/incidents/<int:incident_id>/reports",
    "POST",
    summary="Send the incident to the customer",
    tag=TAG,
    body=ReportBody,
    response=ActionResult,
    status=201,
    errors=(409,),
)
def incident_report(incident_id: int, body: ReportBody) -> ActionResult:
    """Recorded exactly as sent, with the [EXERCISE] marker in subject and body."""
    return act(
        lambda rec: incidents.send_report(
            rec, incident_id, body.recipient, body.message
        )
    )
