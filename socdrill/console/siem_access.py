"""The web app's window on the SIEM store: alerts and events of a person's tenants.

The SIEM store is its own database (``SIEM_URL``); it names tenants by slug and
exercises by their id as text. Every read here takes the tenant slugs the caller may
see, so an alert or event of another tenant simply is not found.
"""

# SQL text here is assembled from fixed clauses; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from flask import current_app

from siem import alerts as siem_alerts
from siem.store import EventStore, StoredEvent
from socdrill.engine import delivery
from socdrill.models import Tenant

ALERT_COLUMNS = (
    "id, rule_id, rule_title, level, severity, tenant, exercise, host, "
    "first_ts, last_ts, event_count, techniques, tactics"
)
LEVELS = ("informational", "low", "medium", "high", "critical")


def event_store() -> EventStore:
    """The app's SIEM store, opened once per app and shared with the engine."""
    return delivery.siem_store(current_app._get_current_object())  # type: ignore[attr-defined]


def exercise_key(exercise_id: int) -> str:
    """How the SIEM store names an exercise."""
    return delivery.exercise_key(exercise_id)


def tenant_key(tenant: Tenant) -> str:
    """How the SIEM store names ``tenant``."""
    return tenant.slug


def exercise_id_of(value: str | None) -> int | None:
    """The exercise id behind the store's exercise text (``None`` if there is none)."""
    if value is None or not value.isdigit():
        return None
    return int(value)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as the SIEM stored it (workflow state lives in the app)."""

    id: int
    rule_id: str
    rule_title: str
    level: str
    severity: int
    tenant: str
    exercise: str | None
    host: str
    first_ts: str
    last_ts: str
    event_count: int
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts to read: always a set of tenants, then optional narrowing."""

    tenants: Sequence[str]
    levels: Sequence[str] = ()
    rule: str = ""
    host: str = ""
    only_ids: Sequence[int] | None = None
    exclude_ids: Sequence[int] = ()


def _record(row: Sequence[Any]) -> AlertRecord:
    return AlertRecord(
        *row[:11],
        techniques=tuple(orjson.loads(row[11] or "[]")),
        tactics=tuple(orjson.loads(row[12] or "[]")),
    )


def _where(selection: AlertFilter) -> tuple[str, list[Any]]:
    clauses = [f"tenant IN ({','.join('?' * len(selection.tenants))})"]
    params: list[Any] = list(selection.tenants)
    if selection.levels:
        clauses.append(f"level IN ({','.join('?' * len(selection.levels))})")
        params.extend(selection.levels)
    if selection.rule:
        clauses.append("(rule_id = ? OR rule_title LIKE ? ESCAPE '\\')")
        escaped = (
            selection.rule.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        params.extend([selection.rule, f"%{escaped}%"])
    if selection.host:
        clauses.append("host = ?")
        params.append(selection.host)
    if selection.only_ids is not None:
        ids = list(selection.only_ids) or [-1]
        clauses.append(f"id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    if selection.exclude_ids:
        ids = list(selection.exclude_ids)
        clauses.append(f"id NOT IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    return " AND ".join(clauses), params


def find_alerts(
    selection: AlertFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[AlertRecord], int]:
    """One page of matching alerts, newest first, and how many match in all."""
    if not selection.tenants:
        return [], 0
    where, params = _where(selection)
    with event_store().connect() as conn:
        total = int(
            conn.exec_driver_sql(
                f"SELECT count(*) FROM alerts WHERE {where}", tuple(params)
            ).scalar()
            or 0
        )
        rows = conn.exec_driver_sql(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {where} "
            "ORDER BY last_ts DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).all()
    return [_record(row) for row in rows], total


def group_counts(selection: AlertFilter, column: str) -> list[tuple[str, str, int]]:
    """``(key, label, count)`` of matching alerts per rule, level or host."""
    if not selection.tenants:
        return []
    label = {"rule_id": "min(rule_title)", "level": "level", "host": "host"}[column]
    where, params = _where(selection)
    with event_store().connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {column}, {label}, count(*) AS n FROM alerts WHERE {where} "
            f"GROUP BY {column} ORDER BY n DESC, {column} LIMIT 20",
            tuple(params),
        ).all()
    return [(str(key), str(name), int(n)) for key, name, n in rows]


def alert_ids(selection: AlertFilter) -> list[int]:
    """Ids of every matching alert (for status counts across the two databases)."""
    if not selection.tenants:
        return []
    where, params = _where(selection)
    with event_store().connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT id FROM alerts WHERE {where}", tuple(params)
        ).all()
    return [int(row[0]) for row in rows]


def get_alerts(ids: Sequence[int], tenants: Sequence[str]) -> list[AlertRecord]:
    """The alerts among ``ids`` that belong to ``tenants`` (others are left out)."""
    if not ids or not tenants:
        return []
    found, _ = find_alerts(
        AlertFilter(tenants=tenants, only_ids=list(ids)), limit=len(set(ids))
    )
    return found


def alert_event_ids(alert_id: int) -> list[int]:
    with event_store().connect() as conn:
        return siem_alerts.alert_event_ids(conn, [alert_id])[alert_id]


def get_events(ids: Sequence[int], tenants: Sequence[str]) -> list[StoredEvent]:
    """Stored events among ``ids`` of ``tenants``, in id order."""
    allowed = set(tenants)
    return [event for event in event_store().get_many(ids) if event.tenant in allowed]
