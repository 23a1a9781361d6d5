"""The alert queue: SIEM alerts joined with their triage state, and triage actions.

Alerts come from the SIEM store, their workflow (status, assignee, verdict, incident)
from ``alert_triage`` in the app database. An alert without a triage row is new.
Acknowledging, assigning, closing with a verdict and escalating each write one
activity row per exercise touched (``ack`` or ``verdict``, targets: alert ids).
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    Tenant,
    User,
    Verdict,
    utcnow,
)


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


@dataclass(frozen=True, slots=True)
class _Facts:
    """The workflow facts of one triaged alert that the queue shows."""

    status: AlertStatus
    assignee: str | None
    verdict: Verdict | None
    reason: str
    incident_id: int | None


def _triage_states(
    tenant_ids: Sequence[int],
) -> dict[int, tuple[AlertStatus, int | None]]:
    """``{siem alert id: (status, assignee id)}`` of the tenants' triaged alerts.

    Plain column tuples, not ORM objects: the queue reads every triaged alert of
    its tenants on each poll, and building thousands of objects cost more than
    the query.
    """
    if not tenant_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            AlertTriage.siem_alert_id, AlertTriage.status, AlertTriage.assignee_id
        ).where(AlertTriage.tenant_id.in_(list(tenant_ids)))
    )
    return {alert_id: (status, assignee) for alert_id, status, assignee in rows}


def _facts(alert_ids: Sequence[int]) -> dict[int, _Facts]:
    """What the queue shows of the triaged alerts among ``alert_ids`` (one query,
    assignee names joined in)."""
    if not alert_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            AlertTriage.siem_alert_id,
            AlertTriage.status,
            User.username,
            AlertTriage.verdict,
            AlertTriage.reason,
            AlertTriage.incident_id,
        )
        .outerjoin(User, User.id == AlertTriage.assignee_id)
        .where(AlertTriage.siem_alert_id.in_(list(alert_ids)))
    )
    return {row[0]: _Facts(*row[1:]) for row in rows}


_NOBODY = object()  # an assignee filter naming nobody who exists matches no row


def _wanted_assignee(wanted: QueueFilter, me: User) -> object:
    """The assignee id the filter asks for (``None``: unassigned)."""
    if wanted.assignee == "me":
        return me.id
    if wanted.assignee == "none":
        return None
    found = db.session.scalar(
        sa.select(User.id).where(User.username == wanted.assignee)
    )
    return _NOBODY if found is None else found


def _split(
    states: dict[int, tuple[AlertStatus, int | None]], wanted: QueueFilter, me: User
) -> tuple[list[int], list[int]]:
    """Triaged alert ids that pass the status/assignee filter, and those that fail."""
    statuses = set(wanted.statuses)
    assignee = _wanted_assignee(wanted, me) if wanted.assignee else _NOBODY
    keep: list[int] = []
    drop: list[int] = []
    for alert_id, (status, assignee_id) in states.items():
        passes = (not statuses or status in statuses) and (
            not wanted.assignee or assignee_id == assignee
        )
        (keep if passes else drop).append(alert_id)
    return keep, drop


def _untriaged_match(wanted: QueueFilter) -> bool:
    """Does an alert nobody has touched yet pass the status/assignee filter?"""
    status_ok = not wanted.statuses or AlertStatus.NEW in wanted.statuses
    return status_ok and wanted.assignee in ("", "none")


def _selection(user: User, wanted: QueueFilter) -> tuple[AlertFilter, list[Tenant]]:
    tenants = tenants_of(user)
    if wanted.tenant:
        tenants = [t for t in tenants if t.slug == wanted.tenant]
        if not tenants:
            raise NotFound(
                f"no tenant {wanted.tenant!r} in your scope", {"tenant": "unknown"}
            )
    selection = AlertFilter(
        tenants=[siem_access.tenant_key(t) for t in tenants],
        levels=tuple(wanted.levels),
        rule=wanted.rule,
        host=wanted.host,
    )
    return selection, tenants


# The queue's columns of every alert in scope: enough to filter, count and order
# them; the page's alerts are then read whole.
_SCAN = (
    "SELECT id, rule_id, rule_title, level, host, last_ts FROM alerts WHERE tenant IN "
)
_ID, _RULE, _TITLE, _LEVEL, _HOST, _LAST_TS = range(6)
GROUP_LIMIT = 20  # the commonest keys shown per group
# SQLite's NOCASE folds ASCII letters only.
_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _scan(selection: AlertFilter) -> list[Sequence[Any]]:
    """The scan columns of every alert of the selection's tenants, narrowed by
    level, rule and host exactly as the store's own filter narrows them."""
    if not selection.tenants:
        return []
    marks = ",".join("?" * len(selection.tenants))
    statement = f"{_SCAN}({marks})"  # only placeholders are added
    with siem_access.event_store().connect() as conn:
        rows: list[Sequence[Any]] = list(
            conn.exec_driver_sql(statement, tuple(selection.tenants)).all()
        )
    if selection.levels or selection.rule or selection.host:
        narrowed = set(siem_access.alert_ids(selection))
        rows = [row for row in rows if row[_ID] in narrowed]
    return rows


def _top(counts: Counter[str], labels: dict[str, str]) -> list[tuple[str, str, int]]:
    """``(key, label, count)``: the commonest keys first, ties by key."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(key, labels[key], n) for key, n in ranked[:GROUP_LIMIT]]


def _group_counts(
    rows: Sequence[Sequence[Any]], fold_hosts: bool
) -> dict[str, list[tuple[str, str, int]]]:
    """Counts per rule (labelled with its title), severity and host.

    ``fold_hosts``: host names compare without ASCII case, as the SQLite store's
    ``COLLATE NOCASE`` host column groups them; a group shows its first spelling.
    """
    by_rule: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for (rule, title), n in Counter((r[_RULE], r[_TITLE]) for r in rows).items():
        by_rule[rule] += n
        titles[rule] = min(titles.get(rule, title), title)
    levels = Counter(row[_LEVEL] for row in rows)
    by_host: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for host, n in Counter(row[_HOST] for row in rows).items():
        folded = host.translate(_ASCII_FOLD) if fold_hosts else host
        by_host[folded] += n
        spelling.setdefault(folded, host)
    return {
        "rule": _top(by_rule, titles),
        "severity": _top(levels, {level: level for level in levels}),
        "host": [
            (spelling[folded], name, n) for folded, name, n in _top(by_host, spelling)
        ],
    }


def queue(
    user: User, wanted: QueueFilter, *, limit: int = 100, offset: int = 0
) -> QueuePage:
    """A page of the queue for ``user`` with counts per rule, severity, host, status.

    One read of the app database for the triage state and one scan of the SIEM's
    alerts of the person's tenants; filtering by state, counting and ordering
    happen here, because the two live in different databases.
    """
    selection, tenants = _selection(user, wanted)
    names = {siem_access.tenant_key(t): t.name for t in tenants}
    states = _triage_states([t.id for t in tenants])
    rows = _scan(selection)
    if wanted.statuses or wanted.assignee:
        keep, drop = _split(states, wanted, user)
        if _untriaged_match(wanted):
            dropped = set(drop)
            rows = [row for row in rows if row[_ID] not in dropped]
        else:
            kept = set(keep)
            rows = [row for row in rows if row[_ID] in kept]
    rows.sort(key=lambda row: (row[_LAST_TS], row[_ID]), reverse=True)
    groups = _group_counts(rows, siem_access.event_store().dialect == "sqlite")
    triaged = Counter(states[row[_ID]][0] for row in rows if row[_ID] in states)
    triaged[AlertStatus.NEW] += len(rows) - triaged.total()
    groups["status"] = [
        (status.value, status.value, triaged[status])
        for status in AlertStatus
        if triaged[status]
    ]
    page_ids = [row[_ID] for row in rows[offset : offset + limit]]
    found = {r.id: r for r in siem_access.get_alerts(page_ids, selection.tenants)}
    records = [found[i] for i in page_ids if i in found]
    facts = _facts(page_ids)
    views = [_view(record, names, facts.get(record.id)) for record in records]
    return QueuePage(views, len(rows), groups)


def _view(
    record: AlertRecord, names: dict[str, str], facts: _Facts | None
) -> AlertView:
    view = AlertView(alert=record, tenant_name=names.get(record.tenant, record.tenant))
    if facts is not None:
        view.status = facts.status
        view.assignee = facts.assignee
        view.verdict = facts.verdict.value if facts.verdict else None
        view.reason = facts.reason
        view.incident_id = facts.incident_id
    return view


def alert_views(user: User, ids: Sequence[int]) -> list[AlertView]:
    """The alerts ``ids`` in ``user``'s scope; any other id raises :class:`NotFound`."""
    tenants = tenants_of(user)
    names = {siem_access.tenant_key(t): t.name for t in tenants}
    wanted = list(dict.fromkeys(ids))
    records = {r.id: r for r in siem_access.get_alerts(wanted, list(names))}
    missing = [i for i in wanted if i not in records]
    if missing:
        raise NotFound(
            f"no alert {', '.join(map(str, missing))} in your scope",
            {"alert_ids": "unknown alert"},
        )
    facts = _facts(wanted)
    return [_view(records[i], names, facts.get(i)) for i in wanted]


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
