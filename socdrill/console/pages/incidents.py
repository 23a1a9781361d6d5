"""Incident pages: the list, a new incident, one incident, a sent report."""

from __future__ import annotations

from flask import render_template, request

from simulator import vocabulary
from simulator.scenario.attack import catalogue
from socdrill import markdown
from socdrill.console import bp, incidents, knowledge, responding, triage
from socdrill.console.scope import colleagues, me, tenants_of
from socdrill.models import IncidentStatus


@bp.get("/console/incidents", endpoint="incidents")
def incident_list() -> str:
    user = me()
    known = {status.value for status in IncidentStatus}
    wanted = [IncidentStatus(v) for v in request.args.getlist("status") if v in known]
    mine = request.args.get("mine") == "1"
    rows = incidents.list_incidents(user, status=wanted, mine=mine)
    return render_template(
        "console/incidents.html",
        incidents=rows,
        statuses=list(IncidentStatus),
        wanted=wanted,
        mine=mine,
    )


@bp.get("/console/incidents/new")
def incident_new() -> str:
    user = me()
    raw = request.args.getlist("alert_id")
    alert_ids = [int(v) for v in raw if v.isdigit()][:200]
    views = triage.alert_views(user, alert_ids) if alert_ids else []
    return render_template(
        "console/incident_new.html",
        tenants=tenants_of(user),
        alerts=views,
        tiers=vocabulary.TIERS,
    )


@bp.get("/console/incidents/<int:incident_id>")
def incident(incident_id: int) -> str:
    user = me()
    row = incidents.incident_or_404(incident_id, user)
    table = catalogue()
    techniques = sorted(table.techniques.values(), key=lambda t: t.id)
    return render_template(
        "console/incident.html",
        incident=row,
        sections=incidents.SECTIONS,
        titles=incidents.SECTION_TITLES,
        render=markdown.render,
        technique_names={t.id: t.name for t in techniques},
        techniques=techniques,
        tiers=vocabulary.TIERS,
        people=colleagues(user),
        statuses=list(IncidentStatus),
        workflow=incidents.WORKFLOW,
        articles=knowledge.search(user),
        linked_articles=incidents.kb_articles(row),
        actions=sorted(vocabulary.RESPONSE_ACTIONS),
        labels=responding.ACTION_LABELS,
        handoff_items=incidents.HANDOFF_ITEMS,
    )


@bp.get("/console/incidents/<int:incident_id>/reports/<int:report_id>")
def incident_report(incident_id: int, report_id: int) -> str:
    """A report exactly as the customer received it."""
    row = incidents.incident_or_404(incident_id, me())
    report = incidents.report_or_404(row, report_id)
    return render_template(
        "console/report.html",
        incident=row,
        report=report,
        html=markdown.render(report.body),
    )
