"""Incident tickets (SIRP): create, edit sections, workflow, hand-off, reports.

Each action writes one activity row: escalating alerts a ``verdict`` (escalated),
creating from scratch and every edit a ``ticket_update`` carrying the scorer's ticket
fields that changed, a hand-off a ``handoff``, sending to the customer a
``report_sent``. The ticket reference (``INC-<id>``) is the scorer's ticket id.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from simulator import vocabulary
from simulator.scenario.attack import catalogue
from socdrill.console import siem_access, triage
from socdrill.console.activity import Done, Recorder
from socdrill.console.errors import Conflict, Invalid, NotFound
from socdrill.console.scope import (
    colleague_by_name,
    exercise_in_play_for_tenant,
    tenant_by_slug,
    tenants_of,
)
from socdrill.extensions import db
from socdrill.models import (
    Exercise,
    Incident,
    IncidentEntry,
    IncidentReport,
    IncidentStatus,
    KbArticle,
    User,
    utcnow,
)

SECTIONS = ("context", "facts", "analysis", "conclusion", "remediation", "impact")
SECTION_TITLES = {
    "context": "Context: how and why it was detected",
    "facts": "Investigation: facts",
    "analysis": "Investigation: analysis",
    "conclusion": "Investigation: conclusion",
    "remediation": "Remediation recommendations",
    "impact": "Impact",
}
ASSET_KINDS = ("host", "account", "ip")
WORKFLOW = (
    IncidentStatus.NEW,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.CONTAINED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
)
EXERCISE_MARKER = "[EXERCISE]"
HANDOFF_ITEMS = ("open_items", "status", "iocs", "next_step")


def incident_or_404(incident_id: int, user: User) -> Incident:
    """The incident if it belongs to one of ``user``'s tenants."""
    incident = db.session.get(Incident, incident_id)
    allowed = {tenant.id for tenant in tenants_of(user)}
    if incident is None or incident.tenant_id not in allowed:
        raise NotFound(f"no incident {incident_id} in your scope")
    return incident


def list_incidents(
    user: User, *, status: Sequence[IncidentStatus] = (), mine: bool = False
) -> list[Incident]:
    allowed = [tenant.id for tenant in tenants_of(user)]
    statement = sa.select(Incident).where(Incident.tenant_id.in_(allowed))
    if status:
        statement = statement.where(Incident.status.in_(list(status)))
    if mine:
        statement = statement.where(Incident.assignees.any(id=user.id))
    return list(
        db.session.scalars(statement.order_by(Incident.updated_at.desc()).limit(500))
    )


# --- validation of the parts of a ticket --------------------------------------------


def check_techniques(techniques: Sequence[str]) -> list[str]:
    """ATT&CK ids known to the shipped catalogue, each once, in the given order."""
    problems = {}
    table = catalogue()
    for index, technique in enumerate(techniques):
        problem = table.problem(technique)
        if problem:
            problems[f"techniques.{index}"] = problem
    if problems:
        raise Invalid("unknown ATT&CK technique", problems)
    return list(dict.fromkeys(t.upper() for t in techniques))


def check_assets(assets: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Hosts, accounts and IP addresses, each once."""
    out: list[dict[str, str]] = []
    problems = {}
    for index, asset in enumerate(assets):
        kind, value = asset["kind"], asset["value"].strip()
        if kind == "ip":
            try:
                value = str(ipaddress.ip_address(value))
            except ValueError:
                problems[f"assets.{index}.value"] = f"{value!r} is not an IP address"
                continue
        item = {"kind": kind, "value": value}
        if item not in out:
            out.append(item)
    if problems:
        raise Invalid("invalid affected asset", problems)
    return out


def _check_kb(ids: Sequence[int], user: User) -> list[int]:
    from socdrill.console.knowledge import article_or_404

    for article_id in ids:
        article_or_404(article_id, user)
    return list(dict.fromkeys(ids))


def _check_events(ids: Sequence[int], incident: Incident) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    found = {
        event.id
        for event in siem_access.get_events(
            wanted, [siem_access.tenant_key(incident.tenant)]
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(
            f"no event {', '.join(map(str, missing))} in this incident's tenant",
            {"event_ids": "unknown event"},
        )
    return wanted


def _check_alerts(ids: Sequence[int], incident: Incident, user: User) -> list[int]:
    views = triage.alert_views(user, ids)
    key = siem_access.tenant_key(incident.tenant)
    other = [v.alert.id for v in views if v.alert.tenant != key]
    if other:
        raise Invalid(
            f"alert {', '.join(map(str, other))} belongs to another tenant",
            {"alert_ids": "another tenant"},
        )
    return list(dict.fromkeys(ids))


# --- what the scorer sees ------------------------------------------------------------


def scorer_fields(incident: Incident, changed: Sequence[str]) -> dict[str, Any]:
    """The scorer's ticket fields for the parts of ``incident`` that changed."""
    fields: dict[str, Any] = {}
    for name in changed:
        if name in SECTIONS:
            fields[name] = getattr(incident, name)
        elif name == "severity":
            fields["severity"] = incident.severity
        elif name == "techniques":
            fields["techniques"] = list(incident.techniques)
        elif name == "iocs":
            fields["iocs"] = list(incident.iocs)
        elif name == "assets":
            fields["assets"] = [asset["value"] for asset in incident.assets]
        elif name == "alert_ids":
            fields["alerts"] = [str(i) for i in incident.alert_ids]
        elif name == "kb_article_ids":
            fields["kb"] = [str(i) for i in incident.kb_article_ids]
    if {"alert_ids", "assets", "event_ids", "note"} & set(changed):
        fields["timeline"] = timeline_refs(incident)
    return fields


def timeline_refs(incident: Incident) -> list[str]:
    """What the ticket's timeline refers to: linked alerts, then affected assets."""
    refs = [str(i) for i in incident.alert_ids]
    refs.extend(asset["value"] for asset in incident.assets)
    return list(dict.fromkeys(refs))


def _entry(
    incident: Incident, actor: User, kind: str, text: str = "", **data: Any
) -> None:
    db.session.add(
        IncidentEntry(
            incident_id=incident.id, actor_id=actor.id, kind=kind, text=text, data=data
        )
    )


def _touch(incident: Incident) -> None:
    incident.version += 1
    incident.updated_at = utcnow()


def _exercise(incident: Incident) -> Exercise | None:
    return (
        db.session.get(Exercise, incident.exercise_id) if incident.exercise_id else None
    )


# --- actions -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewIncident:
    """What a new incident starts with."""

    title: str
    severity: str = "P3"
    tenant: str = ""
    alert_ids: Sequence[int] = ()
    event_ids: Sequence[int] = ()
    sections: Mapping[str, str] | None = None


def create(recorder: Recorder, new: NewIncident) -> Done:
    """Open an incident from alerts (an escalation) or from scratch."""
    actor = recorder.actor
    views = triage.alert_views(actor, new.alert_ids) if new.alert_ids else []
    if views:
        _refuse_closed_escalation(views)
        keys = {v.alert.tenant for v in views}
        if len(keys) > 1:
            raise Invalid(
                "an incident covers one tenant; these alerts come from several",
                {"alert_ids": "several tenants"},
            )
        tenant = tenant_by_slug(views[0].alert.tenant, actor)
        if new.tenant and new.tenant != tenant.slug:
            raise Invalid("the alerts belong to another tenant", {"tenant": "mismatch"})
        exercise = next(
            (e for e in (triage.exercise_of(v.alert) for v in views) if e), None
        )
    else:
        if not new.tenant:
            raise Invalid("name the tenant of the incident", {"tenant": "required"})
        tenant = tenant_by_slug(new.tenant, actor)
        exercise = exercise_in_play_for_tenant(tenant.id, actor)
    incident = Incident(
        tenant_id=tenant.id,
        exercise_id=exercise.id if exercise else None,
        title=new.title,
        severity=new.severity,
        created_by_id=actor.id,
        alert_ids=[v.alert.id for v in views],
    )
    for name, value in (new.sections or {}).items():
        setattr(incident, name, value)
    incident.tenant = tenant
    incident.assignees = [actor]
    db.session.add(incident)
    db.session.flush()
    if new.event_ids:
        incident.event_ids = _check_events(new.event_ids, incident)
    origin = (
        f"from alert(s) {', '.join(str(v.alert.id) for v in views)}" if views else ""
    )
    _entry(incident, actor, "created", f"Incident opened {origin}".strip())
    changed = ["severity", *(new.sections or {}).keys()]
    if new.event_ids:
        changed.append("event_ids")
    if views:
        triage.mark_escalated(
            recorder, views, incident, scorer_fields(incident, [*changed, "alert_ids"])
        )
    else:
        recorder.record(
            exercise,
            "ticket_update",
            [incident.reference],
            target_type="incident",
            ticket=incident.reference,
            fields=scorer_fields(incident, changed),
        )
    return Done(
        f"{incident.reference} opened",
        {"incident_id": incident.id, "reference": incident.reference},
    )


def _refuse_closed_escalation(views: Sequence[triage.AlertView]) -> None:
    done = [v.alert.id for v in views if v.status.value in ("closed", "escalated")]
    if done:
        raise Conflict(
            f"alert {', '.join(map(str, done))} is already closed or escalated",
            {"alert_ids": "already handled"},
        )


def escalate(
    recorder: Recorder, alert_ids: Sequence[int], incident_id: int | None, title: str
) -> Done:
    """Escalate alerts into a new incident, or into an existing one."""
    if incident_id is None:
        if not title:
            raise Invalid(
                "give the new incident a title, or name an incident",
                {"title": "required"},
            )
        return create(recorder, NewIncident(title=title, alert_ids=alert_ids))
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    views = triage.alert_views(actor, alert_ids)
    _check_alerts(alert_ids, incident, actor)
    _refuse_closed_escalation(views)
    incident.alert_ids = list(dict.fromkeys([*incident.alert_ids, *alert_ids]))
    _touch(incident)
    _entry(
        incident, actor, "alerts", f"Alert(s) {', '.join(map(str, alert_ids))} linked"
    )
    triage.mark_escalated(
        recorder, views, incident, scorer_fields(incident, ["alert_ids"])
    )
    return Done(
        f"{len(views)} alert(s) escalated into {incident.reference}",
        {"incident_id": incident.id, "reference": incident.reference},
    )


def update(
    recorder: Recorder,
    incident_id: int,
    changes: Mapping[str, Any],
    version: int | None,
) -> Done:
    """Edit sections, title, severity, tags, assets and links of an incident."""
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    if version is not None and version != incident.version:
        raise Conflict(
            f"{incident.reference} changed since you loaded it (now version "
            f"{incident.version}); reload and apply your edit again",
            {"version": "stale"},
        )
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(f"{incident.reference} is closed; reopen it to edit")
    values = dict(changes)
    if "techniques" in values:
        values["techniques"] = check_techniques(values["techniques"])
    if "assets" in values:
        values["assets"] = check_assets(values["assets"])
    if "alert_ids" in values:
        values["alert_ids"] = _check_alerts(values["alert_ids"], incident, actor)
    if "event_ids" in values:
        values["event_ids"] = _check_events(values["event_ids"], incident)
    if "kb_article_ids" in values:
        values["kb_article_ids"] = _check_kb(values["kb_article_ids"], actor)
    changed = [
        name for name, value in values.items() if getattr(incident, name) != value
    ]
    if not changed:
        return Done(f"{incident.reference} unchanged", _ref(incident))
    for name in changed:
        setattr(incident, name, values[name])
    _touch(incident)
    _entry(incident, actor, "update", "Updated " + ", ".join(changed), fields=changed)
    recorder.record(
        _exercise(incident),
        "ticket_update",
        [incident.reference],
        target_type="incident",
        ticket=incident.reference,
        fields=scorer_fields(incident, changed),
    )
    return Done(f"{incident.reference} saved", _ref(incident))


def _ref(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "reference": incident.reference,
        "version": incident.version,
        "status": incident.status.value,
    }


def change_status(
    recorder: Recorder, incident_id: int, status: IncidentStatus, note: str
) -> Done:
    """Move along new → in progress → contained → resolved → closed (or reopen)."""
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    current = incident.status
    forward = WORKFLOW.index(status) > WORKFLOW.index(current)
    reopen = status == IncidentStatus.IN_PROGRESS and WORKFLOW.index(current) > 1
    if status == current or not (forward or reopen):
        raise Conflict(
            f"{incident.reference} is {current.value}; it cannot go to {status.value}",
            {"status": "not allowed from " + current.value},
        )
    if reopen and not note.strip():
        raise Invalid("say why the incident is reopened", {"note": "required"})
    if status == IncidentStatus.CLOSED and not incident.conclusion.strip():
        raise Conflict(
            "write the investigation's conclusion before closing",
            {"conclusion": "required to close"},
        )
    incident.status = status
    _touch(incident)
    _entry(incident, actor, "status", note, status=status.value, previous=current.value)
    recorder.record(
        _exercise(incident),
        "ticket_update",
        [incident.reference],
        target_type="incident",
        ticket=incident.reference,
        fields={},
    )
    return Done(f"{incident.reference} is now {status.value}", _ref(incident))


def add_note(recorder: Recorder, incident_id: int, text: str) -> Done:
    """A timeline entry written by the analyst."""
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    if not text.strip():
        raise Invalid("the note is empty", {"text": "required"})
    _touch(incident)
    _entry(incident, actor, "note", text)
    recorder.record(
        _exercise(incident),
        "ticket_update",
        [incident.reference],
        target_type="incident",
        ticket=incident.reference,
        fields=scorer_fields(incident, ["note"]),
    )
    return Done("note added", _ref(incident))


def set_assignees(
    recorder: Recorder, incident_id: int, usernames: Sequence[str]
) -> Done:
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    people = [colleague_by_name(name, actor) for name in dict.fromkeys(usernames)]
    incident.assignees = people
    _touch(incident)
    names = ", ".join(p.username for p in people) or "nobody"
    _entry(incident, actor, "assign", f"Assigned to {names}")
    recorder.record(
        _exercise(incident),
        "ticket_update",
        [incident.reference],
        target_type="incident",
        ticket=incident.reference,
        fields={},
    )
    return Done(f"{incident.reference} assigned to {names}", _ref(incident))


def hand_off(
    recorder: Recorder, incident_id: int, to: str, note: Mapping[str, str]
) -> Done:
    """Hand the incident to a colleague with a note (open items, status, IoCs, next)."""
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    receiver = colleague_by_name(to, actor)
    if receiver.id == actor.id:
        raise Invalid("hand the incident to somebody else", {"to": "yourself"})
    if not any(str(note.get(item, "")).strip() for item in HANDOFF_ITEMS):
        raise Invalid(
            "a hand-off note says at least what is open, the status, the IoCs or "
            "the next step",
            {"note": "empty"},
        )
    incident.assignees = [
        *[p for p in incident.assignees if p.id not in (actor.id, receiver.id)],
        receiver,
    ]
    _touch(incident)
    text = "\n".join(
        f"- **{item.replace('_', ' ')}**: {note[item]}"
        for item in HANDOFF_ITEMS
        if str(note.get(item, "")).strip()
    )
    _entry(incident, actor, "handoff", text, to=receiver.username)
    items = [incident.reference, *(str(i) for i in incident.alert_ids)]
    recorder.record(
        _exercise(incident),
        "handoff",
        [receiver.username],
        target_type="user",
        ticket=incident.reference,
        fields={
            "to": receiver.username,
            "items": items,
            # The scorer checks which parts the note covers; the text stays here.
            "note": {
                item: bool(str(note.get(item, "")).strip()) for item in HANDOFF_ITEMS
            },
        },
    )
    return Done(f"{incident.reference} handed to {receiver.username}", _ref(incident))


def compose_report(incident: Incident, message: str) -> tuple[str, str]:
    """Subject and markdown body of the customer report, marked as an exercise."""
    subject = (
        f"{EXERCISE_MARKER} {incident.reference} [{incident.severity}] {incident.title}"
    )
    parts = [
        f"**{EXERCISE_MARKER}** This report comes from a security training exercise.",
        "",
    ]
    if message.strip():
        parts += [message.strip(), ""]
    parts += [
        f"**Severity:** {incident.severity} · **Status:** "
        f"{incident.status.value.replace('_', ' ')}",
        "",
    ]
    for name in SECTIONS:
        value = getattr(incident, name).strip()
        if value:
            parts += [f"## {SECTION_TITLES[name]}", "", value, ""]
    if incident.assets:
        parts += ["## Affected assets", ""]
        parts += [f"- {a['kind']}: `{a['value']}`" for a in incident.assets]
        parts.append("")
    if incident.techniques:
        table = catalogue()
        parts += ["## ATT&CK techniques", ""]
        for technique in incident.techniques:
            known = table.get(technique)
            parts.append(f"- {technique} {known.name if known else ''}".rstrip())
        parts.append("")
    parts.append(f"*{EXERCISE_MARKER} End of report.*")
    return subject, "\n".join(parts)


def send_report(
    recorder: Recorder, incident_id: int, recipient: str, message: str
) -> Done:
    """Send the incident to the (simulated) customer: recorded exactly as sent."""
    actor = recorder.actor
    incident = incident_or_404(incident_id, actor)
    if not (incident.context.strip() or incident.conclusion.strip()):
        raise Conflict(
            "write at least the context or the conclusion before sending",
            {"context": "empty"},
        )
    subject, body = compose_report(incident, message)
    report = IncidentReport(
        incident_id=incident.id,
        actor_id=actor.id,
        recipient=recipient,
        subject=subject,
        body=body,
    )
    db.session.add(report)
    db.session.flush()
    _touch(incident)
    _entry(incident, actor, "report", f"Sent to {recipient}", report_id=report.id)
    recorder.record(
        _exercise(incident),
        "report_sent",
        [incident.reference],
        target_type="incident",
        ticket=incident.reference,
        fields={"recipient": "customer"},
    )
    return Done(
        f"{incident.reference} sent to {recipient}",
        {**_ref(incident), "report_id": report.id},
    )


def report_or_404(incident: Incident, report_id: int) -> IncidentReport:
    for report in incident.reports:
        if report.id == report_id:
            return report
    raise NotFound(f"no report {report_id} for {incident.reference}")


def known_response_actions() -> list[str]:
    return sorted(vocabulary.RESPONSE_ACTIONS)


def kb_articles(incident: Incident) -> list[KbArticle]:
    if not incident.kb_article_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(KbArticle).where(KbArticle.id.in_(incident.kb_article_ids))
        )
    )
