"""The SIEM event store: one ``events`` table, ground-truth labels kept apart.

Embedded default: its own SQLite file (WAL, ``synchronous=NORMAL``, busy timeout,
foreign keys, a ``REGEXP`` function on every connection). The same API shape is meant
for PostgreSQL later; its DDL is kept here (:func:`postgres_ddl`) but not enabled yet.

Schema (SQLite)
---------------
``events``
    ``id`` INTEGER PRIMARY KEY AUTOINCREMENT -- monotonic, never reused, the detection
    watermark; ``uid`` (unique); ``ts`` ISO-8601 UTC with milliseconds and ``Z``
    (sorts as text, indexed); ``sensor``; ``host`` (``COLLATE NOCASE``); ``product``,
    ``category``, ``service`` -- the Sigma logsource, stored as ``''`` when absent so
    that ``(product, category, service)`` equality plus an ``id`` range is one index
    range scan; ``tenant`` (default ``''``); ``exercise`` (nullable); ``raw`` (the
    native line); ``fields`` (the structured fields as JSON text); plus one virtual
    generated column per hot Sigma field (:mod:`siem.fields`).
``events_fts``
    FTS5 external-content index over ``raw`` (rowid = ``events.id``), fed at insert and
    kept in sync by :meth:`EventStore.purge_before`.
``labels``
    Ground truth (``event_id``, ``scenario``, ``stage``, ``technique``, ``malicious``,
    ``exercise``). Search and the API never read it; scoring and tuning do.

Public API
----------
``EventStore.open(url)``; ``insert(events, tenant=, exercise=, on_duplicate=)`` ->
:class:`IdRange`; ``insert_labels(labels)``; ``get(id)``; ``get_many(ids)``;
``count()``; ``time_bounds()``; ``max_id()``; ``purge_before(ts)``; ``size_bytes()``;
``connect()`` (read) and ``begin()`` (write, ``BEGIN IMMEDIATE``) context managers;
``engine``; ``close()``. Module-level :data:`EVENTS` and :data:`LABELS` are SQLAlchemy
``Table`` objects for building Core queries.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.pool import StaticPool

from siem.fields import (
    GENERATED_FIELDS,
    INDEXED_FIELDS,
    json_path,
    quote_identifier,
    sql_string,
)
from simulator.events import Event, Label, iso_ms, parse_iso

#: Events per executemany/transaction in :meth:`EventStore.insert`.
BATCH_SIZE = 5000
#: Milliseconds a writer waits for the lock before ``database is locked``.
BUSY_TIMEOUT_MS = 10_000
#: Page cache per connection (negative = KiB): 64 MiB.
CACHE_KIB = 64 * 1024


class StoreError(Exception):
    """An event-store operation was refused; the message says why and what to do."""


class DuplicateEventError(StoreError):
    """An event ``uid`` is already stored; the batch that carried it is rolled back."""


class IdRange(NamedTuple):
    """Ids assigned by one :meth:`EventStore.insert` call: ``first..last`` inclusive.

    Empty when ``first > last``. With one writer the range holds exactly the call's
    events; with concurrent writers it may also hold theirs.
    """

    first: int
    last: int

    @property
    def empty(self) -> bool:
        return self.first > self.last


@dataclass(slots=True, frozen=True)
class StoredEvent:
    """An event as stored: its id and scope next to the simulator's :class:`Event`."""

    id: int
    tenant: str
    exercise: str | None
    event: Event


# ---------------------------------------------------------------------------
# schema

metadata = sa.MetaData()


def _generated_column(name: str, kind: str) -> sa.Column[Any]:
    expr = f"json_extract(fields, {sql_string(json_path(name, nested=False))})"
    type_: sa.types.TypeEngine[Any] = (
        sa.Integer() if kind == "int" else sa.Text(collation="NOCASE")
    )
    return sa.Column(name, type_, sa.Computed(expr, persisted=False))


EVENTS = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uid", sa.Text, nullable=False, unique=True),
    sa.Column("ts", sa.Text, nullable=False),
    sa.Column("sensor", sa.Text, nullable=False),
    sa.Column("host", sa.Text(collation="NOCASE"), nullable=False, server_default=""),
    sa.Column("product", sa.Text, nullable=False, server_default=""),
    sa.Column("category", sa.Text, nullable=False, server_default=""),
    sa.Column("service", sa.Text, nullable=False, server_default=""),
    sa.Column("tenant", sa.Text, nullable=False, server_default=""),
    sa.Column("exercise", sa.Text, nullable=True),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("fields", sa.Text, nullable=False),
    *(_generated_column(name, kind) for name, kind in GENERATED_FIELDS.items()),
    sa.Index("ix_events_ts", "ts"),
    sa.Index("ix_events_host", "host"),
    # equality on all three + the implicit rowid = "new events of one logsource"
    sa.Index("ix_events_logsource", "product", "category", "service"),
    *(sa.Index(f"ix_events_{name}", name) for name in INDEXED_FIELDS),
    sqlite_autoincrement=True,
)

LABELS = sa.Table(
    "labels",
    metadata,
    sa.Column(
        "event_id",
        sa.Integer,
        sa.ForeignKey("events.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("scenario", sa.Text, nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("technique", sa.Text, nullable=False),
    sa.Column("malicious", sa.Boolean, nullable=False),
    sa.Column("exercise", sa.Text, nullable=True),
)

_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS events_fts "
    "USING fts5(raw, content='events', content_rowid='id')"
)

_INSERT_SQL = (
    "INSERT {verb} INTO events (uid, ts, sensor, host, product, category, "
    "service, tenant, exercise, raw, fields) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_SELECT_EVENT = (
    "SELECT id, uid, ts, sensor, host, product, category, service, "
    "tenant, exercise, raw, fields FROM events"
)


def postgres_ddl() -> list[str]:
    """DDL of the same schema for PostgreSQL (JSONB, STORED columns, pg_trgm).

    Kept beside the SQLite schema so the two stay in step; not used by ``open`` yet.
    """
    columns = []
    for name, kind in GENERATED_FIELDS.items():
        getter = f"(fields->>{sql_string(name)})"
        expr = (
            f"CASE WHEN {getter} ~ '^-?[0-9]+$' THEN {getter}::bigint END"
            if kind == "int"
            else getter
        )
        type_ = "bigint" if kind == "int" else "text"
        columns.append(
            f"  {quote_identifier(name)} {type_} GENERATED ALWAYS AS ({expr}) STORED"
        )
    base = [
        "  id bigserial PRIMARY KEY",
        "  uid text NOT NULL UNIQUE",
        "  ts text NOT NULL",
        "  sensor text NOT NULL",
        "  host text NOT NULL DEFAULT ''",
        "  product text NOT NULL DEFAULT ''",
        "  category text NOT NULL DEFAULT ''",
        "  service text NOT NULL DEFAULT ''",
        "  tenant text NOT NULL DEFAULT ''",
        "  exercise text",
        "  raw text NOT NULL",
        "  fields jsonb NOT NULL",
    ]
    statements = [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE IF NOT EXISTS events (\n" + ",\n".join(base + columns) + "\n)",
        "CREATE INDEX IF NOT EXISTS ix_events_ts ON events (ts)",
        "CREATE INDEX IF NOT EXISTS ix_events_host ON events (lower(host))",
        "CREATE INDEX IF NOT EXISTS ix_events_logsource "
        "ON events (product, category, service, id)",
        "CREATE INDEX IF NOT EXISTS ix_events_raw_trgm "
        "ON events USING gin (raw gin_trgm_ops)",
    ]
    statements += [
        f"CREATE INDEX IF NOT EXISTS ix_events_{name} ON events "
        f"({quote_identifier(name)})"
        for name in INDEXED_FIELDS
    ]
    statements.append(
        "CREATE TABLE IF NOT EXISTS labels (event_id bigint PRIMARY KEY "
        "REFERENCES events(id) ON DELETE CASCADE, scenario text NOT NULL, "
        "stage text NOT NULL, technique text NOT NULL, malicious boolean NOT NULL, "
        "exercise text)"
    )
    return statements


# ---------------------------------------------------------------------------
# connections


@functools.lru_cache(maxsize=8192)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def sqlite_regexp(pattern: str | None, value: Any) -> bool | None:
    """SQLite ``REGEXP``: ``value REGEXP pattern`` calls this as ``(pattern, value)``.

    Sigma regular expressions match anywhere in the value (``re.search``); flags come
    inline (``(?i)``). A NULL value is NULL (no match), numbers match their text.
    """
    if pattern is None or value is None:
        return None
    return (
        _compiled(pattern).search(value if isinstance(value, str) else str(value))
        is not None
    )


def _configure_sqlite(dbapi_conn: Any, memory: bool) -> None:
    # We issue BEGIN ourselves (see _begin), so the driver must not.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    if not memory:
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()
    dbapi_conn.create_function("REGEXP", 2, sqlite_regexp, deterministic=True)


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    memory = url.database in (None, "", ":memory:")
    if memory:
        engine = sa.create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        folder = os.path.dirname(os.path.abspath(url.database or ""))
        if not os.path.isdir(folder):
            raise StoreError(f"event store folder does not exist: {folder}")
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _configure_sqlite(dbapi_conn, memory)

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # Writers take the lock up front: a deferred transaction that reads and then
        # writes can fail with SQLITE_BUSY under WAL instead of waiting.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def ts_text(ts: float | str) -> str:
    """The store's timestamp text (ISO, ms, ``Z``) for POSIX seconds or ISO text."""
    if isinstance(ts, str):
        return iso_ms(parse_iso(ts))
    return iso_ms(float(ts))


# ---------------------------------------------------------------------------
# the store


class EventStore:
    """Events of every tenant and exercise in one database; see the module docs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> EventStore:
        """Open (and create if needed) the store at ``url``.

        ``sqlite:///path/to/siem.db`` is the embedded store (the folder must exist);
        ``sqlite://`` is a private in-memory store for scratch work.
        """
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"not a database URL: {url!r}") from exc
        if parsed.get_backend_name() != "sqlite":
            raise StoreError(
                f"unsupported event store {parsed.get_backend_name()!r}: only "
                "sqlite:///PATH is implemented (PostgreSQL DDL exists but is not "
                "enabled yet)"
            )
        store = cls(_sqlite_engine(parsed))
        store.create_schema()
        return store

    def create_schema(self) -> None:
        """Create tables, indexes and the full-text index when missing (idempotent)."""
        with self.begin() as conn:
            metadata.create_all(conn)
            conn.exec_driver_sql(_FTS_DDL)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextlib.contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection for reads (a deferred transaction starts at first use)."""
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    # -- writes ------------------------------------------------------------

    def insert(
        self,
        events: Iterable[Event],
        *,
        tenant: str = "",
        exercise: str | None = None,
        on_duplicate: Literal["error", "ignore"] = "error",
        batch_size: int = BATCH_SIZE,
    ) -> IdRange:
        """Store ``events`` in transactions of ``batch_size``; return the id range.

        The full-text index is fed in the same transaction as each batch. A ``uid``
        already stored raises :class:`DuplicateEventError` (``on_duplicate="error"``;
        that batch is rolled back, earlier batches stay) or is skipped (``"ignore"``).
        An event whose fields are not JSON-serialisable raises :class:`StoreError`.
        """
        verb = "OR IGNORE" if on_duplicate == "ignore" else ""
        sql = _INSERT_SQL.format(verb=verb)
        first: int | None = None
        last = self.max_id()
        batch: list[tuple[Any, ...]] = []
        for ev in events:
            batch.append(_row(ev, tenant, exercise))
            if len(batch) >= batch_size:
                lo, last = self._insert_batch(sql, batch)
                first = lo if first is None else first
                batch = []
        if batch:
            lo, last = self._insert_batch(sql, batch)
            first = lo if first is None else first
        if first is None:
            return IdRange(last + 1, last)
        return IdRange(first, last)

    def _insert_batch(self, sql: str, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        try:
            with self.begin() as conn:
                before = _max_id(conn)
                conn.exec_driver_sql(sql, rows)
                after = _max_id(conn)
                conn.exec_driver_sql(
                    "INSERT INTO events_fts(rowid, raw) "
                    "SELECT id, raw FROM events WHERE id > ? AND id <= ?",
                    (before, after),
                )
        except sa.exc.IntegrityError as exc:
            # Explained after the rollback, so the batch's own rows are not counted.
            raise DuplicateEventError(self._duplicate_message(rows)) from exc
        return before + 1, after

    def _duplicate_message(self, rows: list[tuple[Any, ...]]) -> str:
        uids = [str(row[0]) for row in rows]
        counts = Counter(uids)
        repeated = [uid for uid, n in counts.items() if n > 1]
        with self.connect() as conn:
            stored = sorted(_ids_by_uid(conn, uids))
        if stored:
            return f"event uid already stored: {', '.join(stored[:5])}"
        return f"event uid repeated within one insert: {', '.join(repeated[:5])}"

    def insert_labels(
        self,
        labels: Mapping[str, Label] | Iterable[Label],
        *,
        exercise: str | None = None,
    ) -> int:
        """Store ground truth for stored events, keyed by event ``uid``.

        Accepts ``{uid: Label}`` or an iterable of :class:`Label`. Every uid must name
        a stored event, otherwise :class:`StoreError` lists the unknown ones and
        nothing is written. Returns the number of labels stored (a label for an event
        that already has one replaces it).
        """
        items = list(labels.values() if isinstance(labels, Mapping) else labels)
        if not items:
            return 0
        with self.begin() as conn:
            ids = _ids_by_uid(conn, [label.uid for label in items])
            missing = [label.uid for label in items if label.uid not in ids]
            if missing:
                shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
                raise StoreError(
                    f"{len(missing)} label(s) name events that are not stored: {shown}"
                )
            conn.exec_driver_sql(
                "INSERT OR REPLACE INTO labels "
                "(event_id, scenario, stage, technique, malicious, exercise) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        ids[label.uid],
                        label.scenario,
                        label.stage,
                        label.technique,
                        int(label.malicious),
                        exercise,
                    )
                    for label in items
                ],
            )
        return len(items)

    def purge_before(self, ts: float | str) -> int:
        """Delete events older than ``ts`` (retention); return how many went.

        Their full-text entries, labels and alert links go with them.
        """
        cutoff = ts_text(ts)
        with self.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO events_fts(events_fts, rowid, raw) "
                "SELECT 'delete', id, raw FROM events WHERE ts < ?",
                (cutoff,),
            )
            result = conn.exec_driver_sql("DELETE FROM events WHERE ts < ?", (cutoff,))
            return int(result.rowcount)

    # -- reads -------------------------------------------------------------

    def get(self, event_id: int) -> StoredEvent | None:
        """The stored event with ``id``, or ``None``."""
        found = self.get_many([event_id])
        return found[0] if found else None

    def get_many(self, ids: Sequence[int]) -> list[StoredEvent]:
        """Stored events for ``ids`` in id order (unknown ids are left out)."""
        out: list[StoredEvent] = []
        with self.connect() as conn:
            for chunk in _chunks(sorted(set(ids)), 500):
                marks = ",".join("?" * len(chunk))
                # only "?" placeholders are interpolated
                rows = conn.exec_driver_sql(
                    f"{_SELECT_EVENT} WHERE id IN ({marks}) ORDER BY id",  # noqa: S608
                    tuple(chunk),
                )
                out.extend(_stored(row) for row in rows)
        return out

    def count(self, *, tenant: str | None = None) -> int:
        """Number of stored events (of one tenant when given)."""
        with self.connect() as conn:
            if tenant is None:
                return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar())
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM events WHERE tenant = ?", (tenant,)
                ).scalar()
            )

    def max_id(self) -> int:
        """Highest event id ever assigned so far (0 for an empty store)."""
        with self.connect() as conn:
            return _max_id(conn)

    def time_bounds(self) -> tuple[float, float] | None:
        """(oldest, newest) event time in POSIX seconds, or ``None`` when empty."""
        with self.connect() as conn:
            lo, hi = conn.exec_driver_sql("SELECT min(ts), max(ts) FROM events").one()
        if lo is None:
            return None
        return parse_iso(lo), parse_iso(hi)

    def size_bytes(self) -> int:
        """Bytes used by the database (pages in use, WAL excluded)."""
        with self.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
        return int((pages - free) * size)

    def ids_for_uids(self, uids: Iterable[str]) -> dict[str, int]:
        """``{uid: id}`` for the stored events among ``uids``."""
        with self.connect() as conn:
            return _ids_by_uid(conn, list(uids))

    def labels_for(self, ids: Iterable[int]) -> dict[int, bool]:
        """``{event_id: malicious}`` for the labelled events among ``ids``.

        Ground truth: for scoring and tuning only, never for search or the API.
        """
        out: dict[int, bool] = {}
        with self.connect() as conn:
            for chunk in _chunks(sorted(set(ids)), 500):
                marks = ",".join("?" * len(chunk))
                rows = conn.exec_driver_sql(
                    f"SELECT event_id, malicious FROM labels WHERE event_id IN ({marks})",  # noqa: S608, E501
                    tuple(chunk),
                )
                out.update((int(i), bool(m)) for i, m in rows)
        return out


# ---------------------------------------------------------------------------
# helpers


def _row(ev: Event, tenant: str, exercise: str | None) -> tuple[Any, ...]:
    try:
        fields = orjson.dumps(ev.fields).decode()
    except TypeError as exc:
        raise StoreError(f"event {ev.uid!r}: fields are not JSON: {exc}") from exc
    return (
        ev.uid,
        iso_ms(ev.ts),
        ev.sensor,
        ev.host or "",
        ev.product or "",
        ev.category or "",
        ev.service or "",
        tenant,
        exercise,
        ev.raw,
        fields,
    )


def _stored(row: Sequence[Any]) -> StoredEvent:
    (
        id_,
        uid,
        ts,
        sensor,
        host,
        product,
        category,
        service,
        tenant,
        exercise,
        raw,
        fields,
    ) = row
    return StoredEvent(
        id=int(id_),
        tenant=tenant,
        exercise=exercise,
        event=Event(
            uid=uid,
            ts=parse_iso(ts),
            sensor=sensor,
            host=host,
            product=product or None,
            category=category or None,
            service=service or None,
            fields=orjson.loads(fields),
            raw=raw,
        ),
    )


def _max_id(conn: sa.Connection) -> int:
    # sqlite_sequence keeps the highest id ever assigned, even after a purge, so the
    # watermark never sees an id reused.
    seq = conn.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
    ).scalar()
    return int(seq or 0)


def _ids_by_uid(conn: sa.Connection, uids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(uids)), 500):
        marks = ",".join("?" * len(chunk))
        rows = conn.exec_driver_sql(
            f"SELECT uid, id FROM events WHERE uid IN ({marks})",  # noqa: S608
            tuple(chunk),
        )
        found.update((str(uid), int(id_)) for uid, id_ in rows)
    return found


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
