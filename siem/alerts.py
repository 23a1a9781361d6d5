"""Alerts: rule hits grouped by (rule, tenant, exercise, host, time bucket).

One alert row per group, with its count and the ids of the events it covers (in the
``alert_events`` link table). A later hit in the same group extends the alert rather
than opening a new one, so a noisy rule produces one alert per host per bucket. The
record stays plain: workflow fields (status, assignee, verdict) belong to the app.

Public API: :func:`ensure_schema`, :func:`record_hits`, :func:`list_alerts`,
:func:`alert_event_ids`, :class:`Alert`, :class:`Hit`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from siem.sigma import LoadedRule
from simulator.events import iso_ms, parse_iso

#: Default width of an alert's time bucket.
BUCKET_SECONDS = 300

_DDL = (
    """CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    severity INTEGER NOT NULL,
    tenant TEXT NOT NULL DEFAULT '',
    exercise TEXT,
    host TEXT NOT NULL COLLATE NOCASE,
    bucket_start TEXT NOT NULL,
    first_ts TEXT NOT NULL,
    last_ts TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    techniques TEXT NOT NULL,
    tactics TEXT NOT NULL,
    group_key TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS ix_alerts_group ON alerts "
    "(rule_id, host, bucket_start, tenant)",
    "CREATE INDEX IF NOT EXISTS ix_alerts_tenant ON alerts (tenant, exercise, id)",
    """CREATE TABLE IF NOT EXISTS alert_events (
    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, event_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS ix_alert_events_event ON alert_events (event_id)",
)


_ALERT_COLUMNS = (
    "id, rule_id, rule_title, level, severity, tenant, exercise, host, "
    "bucket_start, first_ts, last_ts, event_count, techniques, tactics, group_key"
)


@dataclass(slots=True, frozen=True)
class Hit:
    """One event matched by one rule."""

    event_id: int
    ts: str  # ISO-8601 text as stored
    host: str
    tenant: str
    exercise: str | None
    #: extra grouping key (correlation group-by values); '' for detection rules
    group_key: str = ""


@dataclass(slots=True, frozen=True)
class Alert:
    """An alert as stored (without its event ids; see :func:`alert_event_ids`)."""

    id: int
    rule_id: str
    rule_title: str
    level: str
    severity: int
    tenant: str
    exercise: str | None
    host: str
    bucket_start: str
    first_ts: str
    last_ts: str
    event_count: int
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    group_key: str


def ensure_schema(conn: sa.Connection) -> None:
    """Create the alert tables when missing (inside the caller's transaction)."""
    for statement in _DDL:
        conn.exec_driver_sql(statement)


def bucket_start(ts: str, bucket_seconds: int) -> str:
    """Start of the time bucket holding ``ts`` (both ISO text)."""
    seconds = parse_iso(ts)
    return iso_ms(math.floor(seconds / bucket_seconds) * bucket_seconds)


def record_hits(
    conn: sa.Connection,
    rule: LoadedRule,
    hits: Iterable[Hit],
    *,
    bucket_seconds: int = BUCKET_SECONDS,
) -> list[int]:
    """Fold ``hits`` into alerts (new or extended); return the ids of alerts touched.

    Runs in the caller's write transaction. An event already linked to the alert is
    not counted twice.
    """
    groups: dict[tuple[str, str | None, str, str, str], list[Hit]] = defaultdict(list)
    for hit in hits:
        key = (
            hit.tenant,
            hit.exercise,
            hit.host,
            bucket_start(hit.ts, bucket_seconds),
            hit.group_key,
        )
        groups[key].append(hit)
    touched: list[int] = []
    for (tenant, exercise, host, bucket, group_key), members in groups.items():
        alert_id = _find(conn, rule.id, tenant, exercise, host, bucket, group_key)
        if alert_id is None:
            alert_id = _create(conn, rule, tenant, exercise, host, bucket, group_key)
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO alert_events (alert_id, event_id) VALUES (?, ?)",
            [(alert_id, hit.event_id) for hit in members],
        )
        conn.exec_driver_sql(
            "UPDATE alerts SET "
            "event_count = (SELECT count(*) FROM alert_events WHERE alert_id = ?), "
            "first_ts = min(first_ts, ?), last_ts = max(last_ts, ?) WHERE id = ?",
            (
                alert_id,
                min(hit.ts for hit in members),
                max(hit.ts for hit in members),
                alert_id,
            ),
        )
        touched.append(alert_id)
    return touched


def _find(
    conn: sa.Connection,
    rule_id: str,
    tenant: str,
    exercise: str | None,
    host: str,
    bucket: str,
    group_key: str,
) -> int | None:
    found = conn.exec_driver_sql(
        "SELECT id FROM alerts WHERE rule_id = ? AND host = ? AND bucket_start = ? "
        "AND tenant = ? AND exercise IS ? AND group_key = ?",
        (rule_id, host, bucket, tenant, exercise, group_key),
    ).scalar()
    return None if found is None else int(found)


def _create(
    conn: sa.Connection,
    rule: LoadedRule,
    tenant: str,
    exercise: str | None,
    host: str,
    bucket: str,
    group_key: str,
) -> int:
    result = conn.exec_driver_sql(
        "INSERT INTO alerts (rule_id, rule_title, level, severity, tenant, exercise, "
        "host, bucket_start, first_ts, last_ts, event_count, techniques, tactics, "
        "group_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '9999', '', 0, ?, ?, ?)",
        (
            rule.id,
            rule.title,
            rule.level,
            rule.severity,
            tenant,
            exercise,
            host,
            bucket,
            orjson.dumps(list(rule.techniques)).decode(),
            orjson.dumps(list(rule.tactics)).decode(),
            group_key,
        ),
    )
    return int(result.lastrowid)


def list_alerts(
    conn: sa.Connection,
    *,
    tenant: str | None = None,
    exercise: str | None = None,
    after_id: int = 0,
    limit: int = 1000,
) -> list[Alert]:
    """Alerts in id order after ``after_id``, optionally of one tenant/exercise."""
    where = ["id > ?"]
    params: list[object] = [after_id]
    if tenant is not None:
        where.append("tenant = ?")
        params.append(tenant)
    if exercise is not None:
        where.append("exercise = ?")
        params.append(exercise)
    params.append(limit)
    condition = " AND ".join(where)  # fixed clauses; values are parameters
    rows = conn.exec_driver_sql(
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE {condition} ORDER BY id LIMIT ?",  # noqa: S608
        tuple(params),
    )
    return [
        Alert(
            *row[:12],
            techniques=tuple(orjson.loads(row[12])),
            tactics=tuple(orjson.loads(row[13])),
            group_key=row[14],
        )
        for row in rows
    ]


def alert_event_ids(
    conn: sa.Connection, alert_ids: Sequence[int]
) -> dict[int, list[int]]:
    """``{alert_id: [event ids in id order]}`` for the given alerts."""
    out: dict[int, list[int]] = {alert_id: [] for alert_id in alert_ids}
    for start in range(0, len(alert_ids), 500):
        chunk = tuple(alert_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows = conn.exec_driver_sql(
            f"SELECT alert_id, event_id FROM alert_events WHERE alert_id IN ({marks}) "  # noqa: S608
            "ORDER BY alert_id, event_id",
            chunk,
        )
        for alert_id, event_id in rows:
            out[int(alert_id)].append(int(event_id))
    return out
