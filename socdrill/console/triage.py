"""The alert queue: SIEM alerts joined with their triage state, and triage actions.

Alerts come from the SIEM store, their workflow (status, assignee, verdict, incident)
from ``alert_triage`` in the app database. An alert without a triage row is new.
Acknowledging, assigning, closing with a verdict and escalating each write one
activity row per exercise touched (``ack`` or ``verdict``, targets: alert ids).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from socdrill.console import siem_access, tenants_map
from socdrill.console.activity import Done, Recorder
from socdrill.console.errors import Conflict, Invalid, NotFound
from socdrill.console.scope import colleague_by_name, tenants_of
from socdrill.console.siem_access import AlertFilter, AlertRecord
from socdrill.exercise import journal
from socdrill.extensions import db
from socdrill.models import (
    AlertStatus,
    AlertTriage,
    Exercise,
    Incident,
    User,
    Verdict,
    utcnow,
)

GROUP_COLUMNS = {"rule": "rule_id", "severity": "level", "host": "host"}


@dataclass(frozen=True)
class QueueFilter:
    """What the analyst asked the queue for (empty means no narrowing)."""

    tenant: str = ""
    levels: Sequence[str] = ()
    statuses: Sequence[AlertStatus] = ()
    rule: str = ""
    host: str = ""
    assignee: str = ""  # "me", "none" or a username


@dataclass
class AlertView:
    """One alert as the queue shows it."""

    alert: AlertRecord
    tenant_name: str
    status: AlertStatus = AlertStatus.NEW
    assignee: str | None = None
    verdict: str | None = None
    reason: str = ""
    incident_id: int | None = None


@dataclass
class QueuePage:
    alerts: list[AlertView]
    total: int
    groups: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)


def _triage_rows(tenant_ids: Sequence[int]) -> list[AlertTriage]:
    return list(
        db.session.scalars(
            sa.select(AlertTriage).where(AlertTriage.tenant_id.in_(list(tenant_ids)))
        )
    )


def _matches(row: AlertTriage, wanted: QueueFilter, me: User) -> bool:
    if wanted.statuses and row.status not in wanted.statuses:
        return False
    if wanted.assignee == "me":
        return row.assignee_id == me.id
    if wanted.assignee == "none":
        return row.assignee_id is None
    if wanted.assignee:
        return row.assignee is not None and row.assignee.username == wanted.assignee
    return True


def _untriaged_match(wanted: QueueFilter) -> bool:
    """Does an alert nobody has touched yet pass the status/assignee filter?"""
    status_ok = not wanted.statuses or AlertStatus.NEW in wanted.statuses
    return status_ok and wanted.assignee in ("", "none")


def _selection(user: User, wanted: QueueFilter) -> tuple[AlertFilter, dict[int, str]]:
    tenants = tenants_of(user)
    if wanted.tenant:
        tenants = [t for t in tenants if t.slug == wanted.tenant]
        if not tenants:
            raise NotFound(
                f"no tenant {wanted.tenant!r} in your scope", {"tenant": "unknown"}
            )
    names = {t.id: t.name for t in tenants}
    selection = AlertFilter(
        tenants=[siem_access.tenant_key(t) for t in tenants],
        levels=tuple(wanted.levels),
        rule=wanted.rule,
        host=wanted.host,
    )
    return selection, names


def queue(
    user: User, wanted: QueueFilter, *, limit: int = 100, offset: int = 0
) -> QueuePage:
    """A page of the queue for ``user`` with counts per rule, severity, host, status."""
    selection, _names = _selection(user, wanted)
    tenant_ids = tenants_map.ids_for_keys(selection.tenants)
    rows = {row.siem_alert_id: row for row in _triage_rows(tenant_ids)}
    if wanted.statuses or wanted.assignee:
        keep = [i for i, row in rows.items() if _matches(row, wanted, user)]
        drop = [i for i, row in rows.items() if not _matches(row, wanted, user)]
        if _untriaged_match(wanted):
            selection = replace(selection, exclude_ids=drop)
        else:
            selection = replace(selection, only_ids=keep)
    records, total = siem_access.find_alerts(selection, limit=limit, offset=offset)
    groups = {
        name: siem_access.group_counts(selection, column)
        for name, column in GROUP_COLUMNS.items()
    }
    statuses: Counter[str] = Counter()
    for alert_id in siem_access.alert_ids(selection):
        row = rows.get(alert_id)
        statuses[(row.status if row else AlertStatus.NEW).value] += 1
    groups["status"] = [
        (status.value, status.value, statuses[status.value])
        for status in AlertStatus
        if statuses[status.value]
    ]
    return QueuePage(
        [_view(record, rows.get(record.id)) for record in records], total, groups
    )


def _view(record: AlertRecord, row: AlertTriage | None) -> AlertView:
    tenant = tenants_map.tenant_for_key(record.tenant)
    view = AlertView(alert=record, tenant_name=tenant.name if tenant else record.tenant)
    if row is not None:
        view.status = row.status
        view.assignee = row.assignee.username if row.assignee else None
        view.verdict = row.verdict.value if row.verdict else None
        view.reason = row.reason
        view.incident_id = row.incident_id
    return view


def alert_views(user: User, ids: Sequence[int]) -> list[AlertView]:
    """The alerts ``ids`` in ``user``'s scope; any other id raises :class:`NotFound`."""
    tenants = [siem_access.tenant_key(t) for t in tenants_of(user)]
    wanted = list(dict.fromkeys(ids))
    records = {r.id: r for r in siem_access.get_alerts(wanted, tenants)}
    missing = [i for i in wanted if i not in records]
    if missing:
        raise NotFound(
            f"no alert {', '.join(map(str, missing))} in your scope",
            {"alert_ids": "unknown alert"},
        )
    rows = {
        row.siem_alert_id: row
        for row in db.session.scalars(
            sa.select(AlertTriage).where(AlertTriage.siem_alert_id.in_(wanted))
        )
    }
    return [_view(records[i], rows.get(i)) for i in wanted]


def alert_view(user: User, alert_id: int) -> AlertView:
    return alert_views(user, [alert_id])[0]


def exercise_of(record: AlertRecord) -> Exercise | None:
    """The exercise an alert belongs to (only one of the alert's own tenant)."""
    exercise_id = siem_access.exercise_id_of(record.exercise)
    if exercise_id is None:
        return None
    exercise = db.session.get(Exercise, exercise_id)
    tenant = tenants_map.tenant_for_key(record.tenant)
    if exercise is None or tenant is None or exercise.tenant_id != tenant.id:
        return None
    return exercise


def _triage_row(record: AlertRecord) -> AlertTriage:
    row = db.session.scalar(
        sa.select(AlertTriage).where(AlertTriage.siem_alert_id == record.id)
    )
    if row is None:
        tenant = tenants_map.tenant_for_key(record.tenant)
        if tenant is None:
            raise NotFound(f"alert {record.id} belongs to no known tenant")
        exercise = exercise_of(record)
        row = AlertTriage(
            siem_alert_id=record.id,
            tenant_id=tenant.id,
            exercise_id=exercise.id if exercise else None,
            status=AlertStatus.NEW,
            reason="",
        )
        db.session.add(row)
    return row


def _by_exercise(records: Sequence[AlertRecord]) -> dict[int | None, list[int]]:
    grouped: dict[int | None, list[int]] = {}
    for record in records:
        exercise = exercise_of(record)
        grouped.setdefault(exercise.id if exercise else None, []).append(record.id)
    return grouped


def _announce(records: Sequence[AlertRecord], status: AlertStatus) -> None:
    """Tell everyone watching the tenants that these alerts changed hands."""
    by_tenant: dict[str, list[int]] = {}
    for record in records:
        by_tenant.setdefault(record.tenant, []).append(record.id)
    for key, ids in by_tenant.items():
        tenant = tenants_map.tenant_for_key(key)
        if tenant is not None:
            journal.append_room_event(
                journal.tenant_room(tenant.id),
                "alert.triaged",
                {"alert_ids": ids, "status": status.value},
            )


def _record_per_exercise(
    recorder: Recorder,
    records: Sequence[AlertRecord],
    kind: str,
    fields: dict[str, object],
    ticket: str | None = None,
    ticket_fields: dict[str, Any] | None = None,
) -> None:
    statuses = {"ack": AlertStatus.ACKNOWLEDGED, "verdict": AlertStatus.CLOSED}
    verdict = fields.get("verdict")
    status = AlertStatus.ESCALATED if verdict == "escalated" else statuses[kind]
    _announce(records, status)
    for exercise_id, ids in _by_exercise(records).items():
        exercise = db.session.get(Exercise, exercise_id) if exercise_id else None
        recorder.record(
            exercise,
            kind,
            ids,
            target_type="alert",
            ticket=ticket,
            fields=fields,
            ticket_fields=ticket_fields,
        )


def _refuse_closed(views: Sequence[AlertView], action: str) -> None:
    closed = [v.alert.id for v in views if v.status == AlertStatus.CLOSED]
    if closed:
        raise Conflict(
            f"cannot {action} closed alert {', '.join(map(str, closed))}",
            {"alert_ids": "closed"},
        )


def acknowledge(recorder: Recorder, ids: Sequence[int]) -> Done:
    """Take ownership of alerts: acknowledged, assigned to the actor."""
    return assign(recorder, ids, recorder.actor.username, verb="acknowledge")


def assign(
    recorder: Recorder, ids: Sequence[int], username: str | None, verb: str = "assign"
) -> Done:
    """Give alerts to a colleague (or to nobody); they count as acknowledged."""
    actor = recorder.actor
    views = alert_views(actor, ids)
    _refuse_closed(views, verb)
    assignee = colleague_by_name(username, actor) if username else None
    now = utcnow()
    for view in views:
        row = _triage_row(view.alert)
        if row.status == AlertStatus.NEW:
            row.status = AlertStatus.ACKNOWLEDGED
        row.assignee_id = assignee.id if assignee else None
        row.updated_at = now
        row.updated_by_id = actor.id
    fields: dict[str, object] = {"assignee": assignee.username if assignee else None}
    _record_per_exercise(recorder, [v.alert for v in views], "ack", fields)
    who = assignee.username if assignee else "nobody"
    return Done(
        f"{len(views)} alert(s) assigned to {who}",
        {"alert_ids": [v.alert.id for v in views], "assignee": fields["assignee"]},
    )


def close(
    recorder: Recorder, ids: Sequence[int], verdict: Verdict, reason: str
) -> Done:
    """Close alerts with a verdict and the reason for it."""
    if not reason.strip():
        raise Invalid("say why you close the alert", {"reason": "required"})
    actor = recorder.actor
    views = alert_views(actor, ids)
    _refuse_closed(views, "close")
    now = utcnow()
    for view in views:
        row = _triage_row(view.alert)
        row.status = AlertStatus.CLOSED
        row.verdict = verdict
        row.reason = reason
        if row.assignee_id is None:
            row.assignee_id = actor.id
        row.updated_at = now
        row.updated_by_id = actor.id
    _record_per_exercise(
        recorder, [v.alert for v in views], "verdict", {"verdict": verdict.value}
    )
    return Done(
        f"{len(views)} alert(s) closed as {verdict.value}",
        {"alert_ids": [v.alert.id for v in views], "verdict": verdict.value},
    )


def mark_escalated(
    recorder: Recorder,
    views: Sequence[AlertView],
    incident: Incident,
    ticket_fields: dict[str, Any] | None = None,
) -> None:
    """Link alerts to ``incident`` and record the escalation verdict, with the
    ticket fields the escalation set (``ticket_fields``)."""
    now = utcnow()
    for view in views:
        row = _triage_row(view.alert)
        row.status = AlertStatus.ESCALATED
        row.incident_id = incident.id
        if row.assignee_id is None:
            row.assignee_id = recorder.actor.id
        row.updated_at = now
        row.updated_by_id = recorder.actor.id
    _record_per_exercise(
        recorder,
        [v.alert for v in views],
        "verdict",
        {"verdict": "escalated"},
        ticket=incident.reference,
        ticket_fields=ticket_fields,
    )
