"""Run compiled searches against the event store: pages, counts, histograms, pivots.

Every statement is scoped to one tenant and, when given, a time window; the query's
condition comes from :mod:`siem.search.translate` with its values bound, in the
store's dialect. Reads only the ``events`` table and its full-text index; ground-truth
labels are never joined. A statement running past the timeout is stopped: SQLite by
a progress handler, PostgreSQL by ``statement_timeout``.
"""

# SQL text here is assembled only from translator output and catalog expressions
# (whitelisted names); every user value travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from siem.fields import Dialect, quote_identifier
from siem.search.catalog import resolve
from siem.search.errors import SearchError
from siem.search.translate import MATCH_ALL, Condition, compile_query, exists_sql
from siem.store import EventStore
from simulator.events import iso_ms, parse_iso

#: Columns every result row carries.
BASE_RESULT_COLUMNS = ("id", "uid", "ts", "sensor", "host")
#: Columns a full result row adds when no explicit ``columns`` are asked for.
DETAIL_COLUMNS = ("product", "category", "service", "exercise", "raw", "fields")
MAX_LIMIT = 10_000
DEFAULT_TIMEOUT_S = 10.0
#: Bounds of the rare/common threshold of :func:`_newest`.
LOOK_MIN, LOOK_MAX = 1_000, 50_000
TOO_LONG = "the search took too long; narrow the time range or avoid leading wildcards"
#: Counting stops here; the result then says "at least".
COUNT_LIMIT = 10_000
# Histogram steps, in seconds, from which the coarsest needed one is chosen.
_STEPS = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 3 * 3600, 6 * 3600, 12 * 3600,
    86400, 7 * 86400, 30 * 86400, 365 * 86400,
)  # fmt: skip

TimeBound = dt.datetime | float | int | str | None

#: Milliseconds since the epoch of ``events.ts`` (ISO text), per dialect.
_EPOCH_MS = {
    "sqlite": "CAST(round((julianday(events.ts) - 2440587.5) * 86400000.0) AS INTEGER)",
    "postgresql": "CAST(round(extract(epoch FROM CAST(events.ts AS timestamptz)) "
    "* 1000) AS bigint)",
}


@dataclass(slots=True)
class SearchResult:
    """One page of matching events, newest first."""

    total: int  # matching events (a lower bound when ``total_exact`` is false)
    events: list[dict[str, Any]]
    took_ms: float
    total_exact: bool = True
    next_cursor: str | None = None  # pass back as ``cursor`` for the next page


@dataclass(slots=True, frozen=True)
class Bucket:
    start: str  # ISO time the bucket starts at (inclusive)
    count: int


@dataclass(slots=True)
class Histogram:
    """Counts of matching events per time step over ``[start, end)``."""

    start: str
    end: str
    interval_s: int
    buckets: list[Bucket] = field(default_factory=list)
    total: int = 0
    took_ms: float = 0.0


@dataclass(slots=True)
class TopValues:
    """The most frequent values of ``field`` among matching events."""

    field: str
    values: list[tuple[Any, int]]
    total: int  # matching events
    missing: int  # matching events without the field
    took_ms: float = 0.0


# --- public API ---------------------------------------------------------------


def search(
    store: EventStore,
    query: str,
    *,
    tenant: str,
    start: TimeBound = None,
    end: TimeBound = None,
    limit: int = 50,
    offset: int = 0,
    cursor: str | None = None,
    columns: Sequence[str] | None = None,
    count: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> SearchResult:
    """Events of ``tenant`` matching ``query`` in ``[start, end)``, newest first.

    Page with ``offset`` or, cheaper for deep pages, with the previous result's
    ``next_cursor``. ``columns`` names fields to return besides id, uid, ts, sensor
    and host (default: the whole event). ``count=False`` skips counting (``total`` is
    then the page size, a lower bound). Raises :class:`SearchError` for bad input.
    """
    began = time.perf_counter()
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise SearchError("offset must not be negative")
    if cursor is not None and offset:
        raise SearchError("use either offset or cursor, not both")
    condition = compile_query(query, store.dialect)
    scope = _scope(tenant, start, end)
    selects, names = _select_list(columns, store.dialect)
    page_scope = scope
    if cursor is not None:
        cursor_ts, cursor_id = decode_cursor(cursor)
        page_scope = _and(
            scope,
            Condition(
                "(events.ts < ? OR (events.ts = ? AND events.id < ?))",
                [cursor_ts, cursor_ts, cursor_id],
            ),
        )
    with _reading(store, timeout_s) as conn:
        rows, known = _newest(
            conn, selects, page_scope, condition, limit, offset, store.dialect
        )
        events = [_row_dict(row, names) for row in rows]
        first_page = offset == 0 and cursor is None
        if first_page and len(events) < limit:
            total, exact = len(events), True
        elif first_page and known is not None:
            total, exact = known, True
        elif count:
            total, exact = _count(conn, _and(scope, condition))
        else:
            total, exact = offset + len(events), False
    next_cursor = None
    if len(events) == limit:
        next_cursor = encode_cursor(events[-1]["ts"], events[-1]["id"])
    return SearchResult(
        total=total,
        events=events,
        took_ms=_ms_since(began),
        total_exact=exact,
        next_cursor=next_cursor,
    )


def histogram(
    store: EventStore,
    query: str,
    *,
    tenant: str,
    start: TimeBound = None,
    end: TimeBound = None,
    buckets: int = 60,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Histogram:
    """Matching events per time bucket: at most ``buckets`` steps of a round size.

    Without ``start``/``end`` the window spans the matching events themselves.
    """
    began = time.perf_counter()
    if not 1 <= buckets <= 1000:
        raise SearchError("buckets must be between 1 and 1000")
    condition = compile_query(query, store.dialect)
    with _reading(store, timeout_s) as conn:
        lo, hi = _window(conn, condition, tenant, start, end)
        if lo is None or hi is None:
            return Histogram("", "", 0, took_ms=_ms_since(began))
        step = _step(hi - lo, buckets)
        first = math.floor(lo / step) * step
        where = _scoped(condition, tenant, lo, hi)
        ms = _EPOCH_MS[store.dialect]
        sql = (
            f"SELECT ({ms} - ?) / ? AS bucket, count(*) FROM events "
            f"WHERE {where.sql} GROUP BY bucket"
        )
        rows = _run(conn, sql, [round(first * 1000), step * 1000, *where.params])
    counts = {int(b): int(n) for b, n in rows}
    n_buckets = max(1, math.ceil((hi - first) / step))
    return Histogram(
        start=iso_ms(first),
        end=iso_ms(first + n_buckets * step),
        interval_s=step,
        buckets=[
            Bucket(iso_ms(first + i * step), counts.get(i, 0)) for i in range(n_buckets)
        ],
        total=sum(counts.values()),
        took_ms=_ms_since(began),
    )


def top_values(
    store: EventStore,
    query: str,
    field_name: str,
    *,
    tenant: str,
    n: int = 10,
    start: TimeBound = None,
    end: TimeBound = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> TopValues:
    """The ``n`` most frequent values of ``field_name`` among matching events."""
    began = time.perf_counter()
    if not 1 <= n <= 1000:
        raise SearchError("n must be between 1 and 1000")
    ref = resolve(field_name, dialect=store.dialect)
    where = _scoped(compile_query(query, store.dialect), tenant, start, end)
    with _reading(store, timeout_s) as conn:
        present = exists_sql(ref)
        total, with_field = _run(
            conn,
            f"SELECT count(*), coalesce(sum(CASE WHEN {present} THEN 1 ELSE 0 END), 0) "
            f"FROM events WHERE {where.sql}",
            where.params,
        )[0]
        rows = _run(
            conn,
            f"SELECT {ref.sql} AS value, count(*) AS n FROM events "
            f"WHERE {where.sql} AND {present} "
            "GROUP BY value ORDER BY n DESC, value LIMIT ?",
            [*where.params, n],
        )
    return TopValues(
        field=ref.name,
        values=[(value, int(hits)) for value, hits in rows],
        total=int(total),
        missing=int(total) - int(with_field),
        took_ms=_ms_since(began),
    )


def iter_events(
    store: EventStore,
    query: str,
    *,
    tenant: str,
    start: TimeBound = None,
    end: TimeBound = None,
    after_id: int = 0,
    batch: int = 1000,
) -> Iterator[dict[str, Any]]:
    """Every matching event in id (ingest) order, fetched in batches (for export)."""
    where = _scoped(compile_query(query, store.dialect), tenant, start, end)
    selects, names = _select_list(None, store.dialect)
    last = after_id
    while True:
        sql = (
            f"SELECT {', '.join(selects)} FROM events "
            f"WHERE events.id > ? AND {where.sql} ORDER BY events.id LIMIT ?"
        )
        with _reading(store, None) as conn:
            rows = _run(conn, sql, [last, *where.params, batch])
        for row in rows:
            yield _row_dict(row, names)
        if len(rows) < batch:
            return
        last = int(rows[-1][0])


# --- cursors and time bounds --------------------------------------------------


def encode_cursor(ts: str, event_id: int) -> str:
    """An opaque page cursor: the (ts, id) of the last event shown."""
    return base64.urlsafe_b64encode(f"{ts}|{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ts, _, event_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        return iso_ms(parse_iso(ts)), int(event_id)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise SearchError("invalid cursor: pass back next_cursor unchanged") from None


def time_text(value: TimeBound, label: str) -> str | None:
    """A time bound as the store's ISO text (datetime, POSIX seconds or ISO string)."""
    if value is None:
        return None
    try:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return iso_ms(value.timestamp())
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int | float):
            return iso_ms(float(value))
        return iso_ms(parse_iso(str(value).strip()))
    except (ValueError, OverflowError, OSError):
        raise SearchError(
            f"{label} time {value!r} is not a time; use ISO 8601, e.g. "
            "2026-03-01T08:00:00Z"
        ) from None


# --- internals ----------------------------------------------------------------


def _scope(tenant: str, start: TimeBound, end: TimeBound) -> Condition:
    """The tenant and time window every statement is restricted to."""
    if not isinstance(tenant, str):
        raise SearchError("a tenant is required for every search")
    lo, hi = time_text(start, "start"), time_text(end, "end")
    if lo is not None and hi is not None and lo >= hi:
        raise SearchError(f"the start time {lo} is not before the end time {hi}")
    parts = ["events.tenant = ?"]
    params: list[Any] = [tenant]
    if lo is not None:
        parts.append("events.ts >= ?")
        params.append(lo)
    if hi is not None:
        parts.append("events.ts < ?")
        params.append(hi)
    return Condition(" AND ".join(parts), params)


def _scoped(
    condition: Condition, tenant: str, start: TimeBound, end: TimeBound
) -> Condition:
    return _and(_scope(tenant, start, end), condition)


def _and(left: Condition, right: Condition) -> Condition:
    return Condition(f"{left.sql} AND {right.sql}", [*left.params, *right.params])


def _select_list(
    columns: Sequence[str] | None, dialect: Dialect
) -> tuple[list[str], list[str]]:
    names = list(BASE_RESULT_COLUMNS)
    selects = [f"events.{name}" for name in BASE_RESULT_COLUMNS]
    if columns is None:
        names += DETAIL_COLUMNS
        selects += [f"events.{name}" for name in DETAIL_COLUMNS]
        return selects, names
    for typed in columns:
        if typed in names:
            continue
        ref = resolve(typed, dialect=dialect)
        names.append(typed)
        selects.append(ref.sql)
    return selects, names


def _row_dict(row: Sequence[Any], names: list[str]) -> dict[str, Any]:
    out = dict(zip(names, row, strict=True))
    if "fields" in out and isinstance(out["fields"], str):
        out["fields"] = orjson.loads(out["fields"])
    return out


def _newest(
    conn: sa.Connection,
    selects: list[str],
    scope: Condition,
    condition: Condition,
    limit: int,
    offset: int,
    dialect: Dialect,
) -> tuple[list[sa.Row[Any]], int | None]:
    """One page of matches, newest first, and the exact match count when it is known.

    SQLite plans a query with an indexed value (or a full-text word) by fetching every
    match and sorting them by time: quick for a rare value, slow for a common one,
    where walking the time index backwards stops after one page. So when the plan
    sorts, the matches are counted up to a threshold first; below it the planner's
    plan runs, above it the time-ordered walk does. Both are bounded by about
    sqrt(page x stored events) rows. PostgreSQL's planner weighs the two plans itself
    from its statistics, so there the plain query runs.
    """
    columns = ", ".join(selects)
    order = "ORDER BY events.ts DESC, events.id DESC"
    where = _and(scope, condition)
    sql = f"SELECT {columns} FROM events WHERE {where.sql} {order} LIMIT ? OFFSET ?"
    params = [*where.params, limit, offset]
    if dialect == "postgresql" or condition.sql == MATCH_ALL:
        return _run(conn, sql, params), None
    if not _plan_sorts(conn, sql, params):
        return _run(conn, sql, params), None
    time_index = _time_index(conn)
    if time_index is None:
        return _run(conn, sql, params), None
    threshold = _threshold(conn, limit + offset)
    hits, _ = _count(conn, where, threshold)
    if hits < threshold:
        return _run(conn, sql, params), hits
    walk = (
        f"SELECT {columns} FROM events INDEXED BY {time_index} WHERE {where.sql} "
        f"{order} LIMIT ? OFFSET ?"
    )
    return _run(conn, walk, params), None


def _time_index(conn: sa.Connection) -> str | None:
    """The store's index to walk in time order: (tenant, ts) if present, else (ts)."""
    found: dict[tuple[str, ...], str] = {}
    for row in conn.exec_driver_sql("PRAGMA index_list(events)"):
        name = str(row[1])
        info = conn.exec_driver_sql(f"PRAGMA index_info({quote_identifier(name)})")
        found[tuple(str(col[2]) for col in info)] = name
    chosen = found.get(("tenant", "ts")) or found.get(("ts",))
    return None if chosen is None else quote_identifier(chosen)


def _plan_sorts(conn: sa.Connection, sql: str, params: list[Any]) -> bool:
    plan = _run(conn, f"EXPLAIN QUERY PLAN {sql}", params)
    return any("TEMP B-TREE FOR ORDER BY" in str(row[-1]) for row in plan)


def _threshold(conn: sa.Connection, wanted: int) -> int:
    # Fetching-and-sorting n matches costs about what walking wanted x rows / n rows
    # in time order costs; they meet at n = sqrt(wanted x rows).
    rows = conn.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
    ).scalar()
    return max(LOOK_MIN, min(LOOK_MAX, int(math.sqrt(wanted * int(rows or 0)))))


def _count(
    conn: sa.Connection, where: Condition, cap: int = COUNT_LIMIT
) -> tuple[int, bool]:
    """Matches of ``where``, counting no further than ``cap`` (then not exact)."""
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM events WHERE {where.sql} LIMIT ?) "
        "AS capped"
    )
    found = int(_run(conn, sql, [*where.params, cap + 1])[0][0])
    return min(found, cap), found <= cap


def _window(
    conn: sa.Connection,
    condition: Condition,
    tenant: str,
    start: TimeBound,
    end: TimeBound,
) -> tuple[float | None, float | None]:
    lo, hi = time_text(start, "start"), time_text(end, "end")
    if lo is None or hi is None:
        where = _scoped(condition, tenant, start, end)
        found_lo, found_hi = _run(
            conn,
            f"SELECT min(events.ts), max(events.ts) FROM events WHERE {where.sql}",
            where.params,
        )[0]
        if found_lo is None:
            return None, None
        low = parse_iso(lo or found_lo)
        # The window is half-open: one millisecond past the newest event keeps it in.
        high = parse_iso(hi) if hi else parse_iso(found_hi) + 0.001
        return low, high
    return parse_iso(lo), parse_iso(hi)


def _step(span: float, buckets: int) -> int:
    wanted = span / buckets
    for step in _STEPS:
        if step >= wanted:
            return step
    return math.ceil(wanted / _STEPS[-1]) * _STEPS[-1]


def _run(conn: sa.Connection, sql: str, params: Sequence[Any]) -> list[sa.Row[Any]]:
    """All rows of one statement; an interrupted (timed-out) one is a SearchError."""
    try:
        return list(conn.exec_driver_sql(sql, tuple(params)))
    except sa.exc.OperationalError as exc:
        if "interrupted" in str(exc.orig) or "statement timeout" in str(exc.orig):
            raise SearchError(TOO_LONG) from None
        raise


@contextlib.contextmanager
def _reading(store: EventStore, timeout_s: float | None) -> Iterator[sa.Connection]:
    """A read connection that aborts a statement running past ``timeout_s``."""
    if store.dialect == "postgresql":
        if timeout_s is not None and timeout_s <= 0:
            raise SearchError(TOO_LONG)  # statement_timeout = 0 would mean no limit
        with store.connect() as conn, conn.begin():
            if timeout_s is not None:
                milliseconds = max(1, math.ceil(timeout_s * 1000))
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds:d}")
            yield conn
        return
    with store.connect() as conn:
        raw = conn.connection.driver_connection
        if timeout_s is None or raw is None:
            yield conn
            return
        deadline = time.monotonic() + timeout_s
        # SQLite calls this every N virtual-machine steps; non-zero aborts the query.
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1_000)
        try:
            yield conn
        finally:
            raw.set_progress_handler(None, 0)


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)
