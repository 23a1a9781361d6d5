"""Sigma correlation rules (event_count, value_count, temporal …) over a time window.

pysigma-backend-sqlite compiles a correlation rule and its base rules into one
self-contained query over a relation named :data:`siem.sigma.CORRELATION_TABLE`. Here
that relation is bound, as a leading CTE, to the stored events of a time window (the
new events' span widened by the rule's timespan), with the group-by fields exposed as
columns. Results become :class:`siem.alerts.Hit` objects grouped by the rule's
group-by values.

The query is SQLite's on every store. On PostgreSQL the window's events are copied,
ids kept, into a scratch in-memory SQLite store and the query runs there, so both
backends give the same answer from one compiler. The copy is bounded by the window:
the rule's timespan plus the span of the new events.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from siem import alerts
from siem.fields import BASE_COLUMNS, field_sql, quote_identifier
from siem.sigma import CORRELATION_TABLE, LoadedRule
from siem.store import EventStore
from simulator.events import iso_ms, parse_iso

_HIT_COLUMNS = "id, ts, host, tenant, exercise"


def correlate(
    conn: sa.Connection,
    rule: LoadedRule,
    first_ts: str,
    last_ts: str,
    *,
    new_after_id: int = 0,
) -> list[alerts.Hit]:
    """Hits of a correlation rule over events between ``first_ts - timespan`` and
    ``last_ts``; only occurrences that include an event with id > ``new_after_id``.

    The backend's query reads ``sigma_window``; it is bound here, as a leading CTE,
    to the window of stored events, with the group-by fields as columns.
    """
    spec = rule.correlation
    if spec is None:
        raise ValueError(f"{rule.id} is not a correlation rule")
    if conn.dialect.name != "sqlite":
        return _correlate_in_scratch(conn, rule, first_ts, last_ts, new_after_id)
    extra = "".join(
        f", {field_sql(name)} AS {quote_identifier(name)}" for name in spec.columns
    )
    # start of the window: the first new event's time minus the rule's timespan
    since = "strftime('%Y-%m-%dT%H:%M:%fZ', :first, :back)"
    window = f"{CORRELATION_TABLE} AS (SELECT *{extra} FROM events WHERE ts >= {since} AND ts <= :last)"  # noqa: S608, E501
    query = spec.query
    if not query.startswith("WITH "):
        raise ValueError(f"{rule.id}: unexpected correlation query shape")
    sql = "WITH " + window + ", " + query[len("WITH ") :]
    rows = conn.exec_driver_sql(
        sql,
        {
            "first": first_ts,
            "back": f"-{spec.timespan_seconds} seconds",
            "last": last_ts,
        },
    ).mappings()
    event_ids: dict[int, str] = {}
    for row in rows:
        ids = [int(str(e).rsplit(":", 1)[-1]) for e in orjson.loads(row["event_ids"])]
        if max(ids, default=0) <= new_after_id:
            continue
        key = str(row["group_keys"])
        for event_id in ids:
            event_ids.setdefault(event_id, key)
    if not event_ids:
        return []
    marks = ",".join("?" * len(event_ids))
    info = conn.exec_driver_sql(
        f"SELECT {_HIT_COLUMNS} FROM events WHERE id IN ({marks})",  # noqa: S608
        tuple(event_ids),
    )
    return [
        alerts.Hit(int(i), ts, host, tenant, ex, group_key=event_ids[int(i)])
        for i, ts, host, tenant, ex in info
    ]


def _correlate_in_scratch(
    conn: sa.Connection,
    rule: LoadedRule,
    first_ts: str,
    last_ts: str,
    new_after_id: int,
) -> list[alerts.Hit]:
    """Copy the window's events into a scratch SQLite store and correlate there."""
    spec = rule.correlation
    if spec is None:  # pragma: no cover - checked by correlate()
        raise ValueError(f"{rule.id} is not a correlation rule")
    since = iso_ms(parse_iso(first_ts) - spec.timespan_seconds)
    columns = ", ".join(BASE_COLUMNS)
    rows = conn.exec_driver_sql(
        f"SELECT {columns} FROM events WHERE ts >= ? AND ts <= ?",  # noqa: S608
        (since, last_ts),
    ).all()
    if not rows:
        return []
    scratch = EventStore.open("sqlite://")
    try:
        marks = ", ".join("?" for _ in BASE_COLUMNS)
        with scratch.begin() as local:
            local.exec_driver_sql(
                f"INSERT INTO events ({columns}) VALUES ({marks})",  # noqa: S608
                [tuple(row) for row in rows],
            )
        with scratch.connect() as local:
            return correlate(local, rule, first_ts, last_ts, new_after_id=new_after_id)
    finally:
        scratch.close()
