"""The SIEM event store: one ``events`` table, ground-truth labels kept apart.

Embedded default: its own SQLite file (WAL, ``synchronous=NORMAL``, busy timeout,
foreign keys, a ``REGEXP`` function on every connection). Scale-out: PostgreSQL
(``postgresql+psycopg://``) with the same API and tables in PostgreSQL's terms
(:func:`postgres_ddl`: JSONB, STORED generated columns, ``pg_trgm``); statements
written for the store are read there through :func:`postgres_sql`, so callers write
one SQL (``?`` placeholders) for both. ``store.dialect`` names the backend.

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
``connect()`` (read) and ``begin()`` (write: ``BEGIN IMMEDIATE``, or the advisory
lock on PostgreSQL) context managers; ``engine``; ``dialect``; ``close()``.
Module-level :data:`EVENTS` and :data:`LABELS` are SQLAlchemy ``Table`` objects for
building Core queries (SQLite schema).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.types.string import TextLoader
from sqlalchemy import event as sa_event
from sqlalchemy.pool import StaticPool

from siem.fields import (
    GENERATED_FIELDS,
    INDEXED_FIELDS,
    Dialect,
    json_path,
    quote_identifier,
    safe_integer_sql,
    sql_string,
)
from simulator.events import Event, Label, iso_ms, parse_iso

#: Events per executemany/transaction in :meth:`EventStore.insert`.
BATCH_SIZE = 5000
#: Milliseconds a writer waits for the lock before ``database is locked``.
BUSY_TIMEOUT_MS = 10_000
#: Page cache per connection (negative = KiB): 64 MiB.
CACHE_KIB = 64 * 1024
#: Page size of a new SQLite store. Events are 0.5-3 KiB with their JSON: on 8 KiB
#: pages fewer of them straddle two pages than on SQLite's default 4 KiB.
PAGE_SIZE = 8192
#: WAL pages before a checkpoint copies them into the database (SQLite: 1,000).
#: A larger WAL checkpoints less often during bulk ingest; the file is cut back to
#: JOURNAL_SIZE_LIMIT after each checkpoint.
WAL_AUTOCHECKPOINT = 8000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


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


def _field_index(name: str) -> sa.Index:
    """The B-tree index of a hot field's column, holding only events that have it.

    Most events lack most hot fields (``QueryName`` is in one event in fifteen), and
    an index entry for a NULL costs an insert like any other. Every query an index
    can serve -- equality, ``IN``, ranges, ``LIKE`` prefixes, ``IS NOT NULL`` --
    implies the field is present, so SQLite plans them on the partial index as it
    did on a full one. Stores created before keep their full indexes.
    """
    column = quote_identifier(name)
    return sa.Index(
        f"ix_events_{name}", name, sqlite_where=sa.text(f"{column} IS NOT NULL")
    )


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
    *(_field_index(name) for name in INDEXED_FIELDS),
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

# columnsize=0: no per-row token counts, which only ranking (bm25) reads.
_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS events_fts "
    "USING fts5(raw, content='events', content_rowid='id', columnsize=0)"
)

_COLUMNS = (
    "uid, ts, sensor, host, product, category, service, tenant, exercise, raw, fields"
)
_INSERT_SQL = (
    f"INSERT {{verb}} INTO events ({_COLUMNS}) "  # noqa: S608 - fixed column list
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_SELECT_EVENT = (
    "SELECT id, uid, ts, sensor, host, product, category, service, "
    "tenant, exercise, raw, fields FROM events"
)


#: Key of the PostgreSQL advisory lock every write transaction holds: writers take
#: turns as they do on SQLite, so ids become visible in the order they are given.
PG_WRITE_LOCK = 0x50C0_D811
#: Key of the lock serialising schema creation (``CREATE ... IF NOT EXISTS`` races).
PG_SCHEMA_LOCK = 0x50C0_D812

_PG_BASE_COLUMNS = (
    "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    "uid text NOT NULL UNIQUE",
    "ts text NOT NULL",
    "sensor text NOT NULL",
    "host text NOT NULL DEFAULT ''",
    "product text NOT NULL DEFAULT ''",
    "category text NOT NULL DEFAULT ''",
    "service text NOT NULL DEFAULT ''",
    "tenant text NOT NULL DEFAULT ''",
    "exercise text",
    "raw text NOT NULL",
    "fields jsonb NOT NULL",
)


def postgres_ddl() -> list[str]:
    """DDL of the schema on PostgreSQL (JSONB, STORED columns, pg_trgm), idempotent.

    Hot Sigma fields are STORED generated columns (PostgreSQL has no virtual ones
    before 18): text as ``fields->>'Name'``, integers through a cast that gives NULL
    instead of failing the insert when the value is not a number. Text columns are
    indexed on ``lower(...)``, the form the Sigma dialect and search compare with.
    """
    columns = list(_PG_BASE_COLUMNS)
    for name, kind in GENERATED_FIELDS.items():
        getter = f"(fields->>{sql_string(name)})"
        expr, type_ = (
            (safe_integer_sql(getter), "bigint") if kind == "int" else (getter, "text")
        )
        columns.append(
            f"{quote_identifier(name)} {type_} GENERATED ALWAYS AS ({expr}) STORED"
        )
    statements = [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE IF NOT EXISTS events (\n  " + ",\n  ".join(columns) + "\n)",
        # search: always scoped to a tenant, newest first
        "CREATE INDEX IF NOT EXISTS ix_events_tenant_ts ON events (tenant, ts)",
        "CREATE INDEX IF NOT EXISTS ix_events_tenant_host_ts "
        "ON events (tenant, lower(host), ts)",
        # retention, retro-hunts and correlation windows (any tenant)
        "CREATE INDEX IF NOT EXISTS ix_events_ts ON events (ts)",
        # detection: the new events of one logsource
        "CREATE INDEX IF NOT EXISTS ix_events_logsource "
        "ON events (product, category, service, id)",
        # substring, keyword and word search on the raw line
        "CREATE INDEX IF NOT EXISTS ix_events_raw_trgm "
        "ON events USING gin (raw gin_trgm_ops)",
    ]
    for name in INDEXED_FIELDS:
        column = quote_identifier(name)
        key = column if GENERATED_FIELDS[name] == "int" else f"lower({column})"
        statements.append(
            f"CREATE INDEX IF NOT EXISTS ix_events_{name} ON events ({key})"
        )
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
    # only takes effect on a new database, before its first table
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    if not memory:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
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


# ---------------------------------------------------------------------------
# PostgreSQL: one SQL spelling for both backends

# String literals, quoted identifiers and comments: nothing inside them is rewritten.
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)
_INSERT_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_INDEX_HINT = re.compile(r"\s+(?:NOT\s+INDEXED|INDEXED\s+BY\s+[\w$.]+)\b", re.I)
_IS_PARAM = re.compile(r"\bIS\s+(NOT\s+)?\?", re.I)
_SCALAR_MIN_MAX = re.compile(r"\b(min|max)\(", re.I)
_JSON_IDS = re.compile(r"\bSELECT\s+value\s+FROM\s+json_each\(\?\)", re.I)
_CREATE = re.compile(r"^\s*CREATE\s", re.I)
_DDL_REWRITES = (
    (
        re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.I),
        "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b", re.I), "bigint"),
    (re.compile(r"\s+COLLATE\s+NOCASE\b", re.I), ""),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\s*$", re.I), ")"),
    (re.compile(r"\bINDEX\s+IF\s+NOT\s+EXISTS\s+temp\.", re.I), "INDEX IF NOT EXISTS "),
)


@functools.lru_cache(maxsize=4096)
def postgres_sql(statement: str) -> str:
    """A statement in the store's portable spelling, rewritten for psycopg.

    Code over the event store writes one SQL for both backends: ``?`` placeholders
    and the few SQLite spellings below, which PostgreSQL reads as follows:

    ==============================  ============================================
    ``INSERT OR IGNORE INTO ...``   ``INSERT INTO ... ON CONFLICT DO NOTHING``
    ``events NOT INDEXED``,         ``events`` (index hints are SQLite's)
    ``INDEXED BY name``
    ``max(a, b)``, ``min(a, b)``    ``greatest(a, b)``, ``least(a, b)``
    ``x IS ?``, ``x IS NOT ?``      ``IS [NOT] DISTINCT FROM``
    ``SELECT value FROM             the ids of a JSON array (``jsonb``)
    json_each(?)``
    ``CREATE`` statements           ``INTEGER`` is ``bigint``, ``AUTOINCREMENT``
                                    an identity, ``COLLATE NOCASE``,
                                    ``WITHOUT ROWID`` and ``temp.`` dropped
    ==============================  ============================================

    ``%`` is doubled (psycopg reads ``%s`` placeholders); literals, quoted names and
    comments are left as they are.
    """
    literals: list[str] = []

    def hide(found: re.Match[str]) -> str:
        literals.append(found.group(0))
        return f"\x00{len(literals) - 1}\x00"

    sql = _QUOTED.sub(hide, statement)
    ignore = _INSERT_OR_IGNORE.search(sql) is not None
    sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql)
    sql = _INDEX_HINT.sub("", sql)
    sql = _IS_PARAM.sub(
        lambda m: "IS DISTINCT FROM ?" if m.group(1) else "IS NOT DISTINCT FROM ?", sql
    )
    sql = _JSON_IDS.sub(
        "SELECT CAST(value AS bigint) FROM "
        "jsonb_array_elements_text(CAST(? AS jsonb)) AS value",
        sql,
    )
    sql = _scalar_min_max(sql)
    if _CREATE.match(sql):
        for pattern, replacement in _DDL_REWRITES:
            sql = pattern.sub(replacement, sql)
    if ignore:
        sql = sql.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    sql = sql.replace("%", "%%").replace("?", "%s")
    return re.sub(
        "\x00([0-9]+)\x00",
        lambda m: literals[int(m.group(1))].replace("%", "%%"),
        sql,
    )


def _scalar_min_max(sql: str) -> str:
    """``min``/``max`` with two or more arguments are ``least``/``greatest``."""
    out: list[str] = []
    position = 0
    for found in _SCALAR_MIN_MAX.finditer(sql):
        depth, commas, index = 1, 0, found.end()
        while index < len(sql) and depth:
            char = sql[index]
            depth += (char == "(") - (char == ")")
            commas += char == "," and depth == 1
            index += 1
        if commas:
            word = "least" if found.group(1).lower() == "min" else "greatest"
            out.append(sql[position : found.start()] + word + "(")
            position = found.end()
    out.append(sql[position:])
    return "".join(out)


class _PortableCursor(psycopg.Cursor[Any]):
    """A psycopg cursor with SQLite's ``lastrowid``: the id of the last insert."""

    @property
    def lastrowid(self) -> int | None:
        try:
            # a savepoint, because lastval() fails when no id was given yet
            with self.connection.transaction(), self.connection.cursor() as cursor:
                row = cursor.execute("SELECT lastval()").fetchone()
        except psycopg.errors.ObjectNotInPrerequisiteState:
            return None
        return None if row is None else int(row[0])


def _postgres_engine(url: sa.URL) -> sa.Engine:
    if url.get_driver_name() not in ("psycopg", "postgresql"):
        raise StoreError(
            f"the event store speaks to PostgreSQL through psycopg 3: use "
            f"postgresql+psycopg://... (not {url.drivername})"
        )
    engine = sa.create_engine(
        url.set(drivername="postgresql+psycopg"), pool_pre_ping=True
    )

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.cursor_factory = _PortableCursor
        # `fields` reads back as JSON text on both backends, as the store wrote it
        dbapi_conn.adapters.register_loader("jsonb", TextLoader)

    @sa_event.listens_for(engine, "before_cursor_execute", retval=True)
    def _portable(
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        # Only plain driver SQL: SQLAlchemy compiles its own constructs for psycopg.
        if context is not None and context.compiled is not None:
            return statement, parameters
        return postgres_sql(statement), parameters

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
        self.dialect: Dialect = (
            "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
        )

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> EventStore:
        """Open (and create if needed) the store at ``url``.

        ``sqlite:///path/to/siem.db`` is the embedded store (the folder must exist);
        ``sqlite://`` is a private in-memory store for scratch work;
        ``postgresql+psycopg://user:password@host/db`` is the scale-out store (the
        database must exist; the tables and the ``pg_trgm`` extension are created).
        """
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"not a database URL: {url!r}") from exc
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            store = cls(_sqlite_engine(parsed))
        elif backend == "postgresql":
            store = cls(_postgres_engine(parsed))
        else:
            raise StoreError(
                f"unsupported event store {backend!r}: use sqlite:///PATH or "
                "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
            )
        try:
            store.create_schema()
        except sa.exc.OperationalError as exc:
            store.close()
            where = parsed.render_as_string(hide_password=True)
            raise StoreError(
                f"cannot open the event store at {where}: {_first_line(exc.orig)}"
            ) from exc
        except sa.exc.ProgrammingError as exc:
            store.close()
            raise StoreError(
                f"cannot create the event store schema: {_first_line(exc.orig)} "
                "(the account needs CREATE on the database; pg_trgm must be "
                "installed: Debian package postgresql-contrib on old releases)"
            ) from exc
        return store

    def create_schema(self) -> None:
        """Create tables, indexes and the full-text index when missing (idempotent)."""
        if self.dialect == "postgresql":
            with self.engine.connect() as conn, conn.begin():
                conn.exec_driver_sql(
                    "SELECT pg_advisory_xact_lock(?)", (PG_SCHEMA_LOCK,)
                )
                for statement in postgres_ddl():
                    conn.exec_driver_sql(statement)
            return
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
        """A write transaction, committed on success; writers take turns.

        SQLite: ``BEGIN IMMEDIATE``. PostgreSQL: a transaction holding the store's
        advisory lock, so that, as on SQLite, an id is visible only once every
        smaller id is.
        """
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(
                        "SELECT pg_advisory_xact_lock(?)", (PG_WRITE_LOCK,)
                    )
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
        An event whose fields are not JSON-serialisable raises :class:`StoreError`,
        and so, on PostgreSQL, does text holding a NUL character.
        """
        ignore = on_duplicate == "ignore"
        write = self._write_postgres if self.dialect == "postgresql" else self._write
        make_row = _row if self.dialect == "sqlite" else _postgres_row
        first: int | None = None
        last = self.max_id()
        batch: list[tuple[Any, ...]] = []
        for ev in events:
            batch.append(make_row(ev, tenant, exercise))
            if len(batch) >= batch_size:
                lo, last = self._insert_batch(write, batch, ignore)
                first = lo if first is None else first
                batch = []
        if batch:
            lo, last = self._insert_batch(write, batch, ignore)
            first = lo if first is None else first
        if first is None:
            return IdRange(last + 1, last)
        return IdRange(first, last)

    def _insert_batch(
        self,
        write: Callable[[sa.Connection, list[tuple[Any, ...]], bool], None],
        rows: list[tuple[Any, ...]],
        ignore: bool,
    ) -> tuple[int, int]:
        try:
            with self.begin() as conn:
                before = _max_id(conn)
                write(conn, rows, ignore)
                after = _max_id(conn)
        except (sa.exc.IntegrityError, psycopg.IntegrityError) as exc:
            # Explained after the rollback, so the batch's own rows are not counted.
            raise DuplicateEventError(self._duplicate_message(rows)) from exc
        return before + 1, after

    @staticmethod
    def _write(conn: sa.Connection, rows: list[tuple[Any, ...]], ignore: bool) -> None:
        """INSERT the rows, then add their raw lines to the full-text index."""
        before, changes = _max_id(conn), _changes(conn)
        conn.exec_driver_sql(
            _INSERT_SQL.format(verb="OR IGNORE" if ignore else ""), rows
        )
        inserted = _changes(conn) - changes
        _index_full_text(conn, rows, before, _max_id(conn), inserted)

    @staticmethod
    def _write_postgres(
        conn: sa.Connection, rows: list[tuple[Any, ...]], ignore: bool
    ) -> None:
        """COPY the rows in; with ``ignore`` through a staging table, because COPY
        cannot skip a duplicate."""
        driver = conn.connection.driver_connection
        if driver is None:  # pragma: no cover - a pooled connection always has one
            raise StoreError("the PostgreSQL connection is closed")
        with driver.cursor() as cursor:
            if not ignore:
                with cursor.copy(f"COPY events ({_COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS events_incoming "
                "(seq bigint GENERATED ALWAYS AS IDENTITY, uid text, ts text, "
                "sensor text, host text, product text, category text, service text, "
                "tenant text, exercise text, raw text, fields jsonb)"
            )
            cursor.execute("TRUNCATE events_incoming RESTART IDENTITY")
            with cursor.copy(f"COPY events_incoming ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # Skipped rows must not take ids (ON CONFLICT would): the first copy of
            # each new uid goes in, in input order. No other writer runs meanwhile.
            cursor.execute(
                f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} "  # noqa: S608
                "FROM (SELECT DISTINCT ON (uid) * FROM events_incoming "
                "ORDER BY uid, seq) AS incoming WHERE NOT EXISTS "
                "(SELECT 1 FROM events WHERE events.uid = incoming.uid) ORDER BY seq"
            )

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
            # the last label of an event wins, as INSERT OR REPLACE would have it
            latest = {ids[label.uid]: label for label in items}
            conn.exec_driver_sql(
                "INSERT INTO labels "
                "(event_id, scenario, stage, technique, malicious, exercise) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET "
                "scenario = excluded.scenario, stage = excluded.stage, "
                "technique = excluded.technique, malicious = excluded.malicious, "
                "exercise = excluded.exercise",
                [
                    (
                        event_id,
                        label.scenario,
                        label.stage,
                        label.technique,
                        bool(label.malicious),
                        exercise,
                    )
                    for event_id, label in latest.items()
                ],
            )
        return len(items)

    def purge_before(self, ts: float | str) -> int:
        """Delete events older than ``ts`` (retention); return how many went.

        Their full-text entries, labels and alert links go with them.
        """
        cutoff = ts_text(ts)
        with self.begin() as conn:
            if self.dialect == "sqlite":
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
        """Bytes used by the store's tables and indexes (SQLite: pages in use, WAL
        excluded; PostgreSQL: the relations of the store's schema)."""
        with self.connect() as conn:
            if self.dialect == "postgresql":
                return int(
                    conn.exec_driver_sql(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) "
                        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE c.relkind IN ('r', 'm') AND n.nspname = current_schema()"
                    ).scalar()
                )
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
        _ts_text(ev.ts),
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


@functools.lru_cache(maxsize=4096)
def _second_text(whole: int) -> str:
    return iso_ms(whole)[:-5]  # "2026-03-01T08:00:00"


def _ts_text(ts: float) -> str:
    """:func:`simulator.events.iso_ms`, formatting each second once: events come in
    time order, many to the second, and strftime costs more than the insert."""
    whole = int(ts // 1)
    millis = int(round((ts - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    return f"{_second_text(whole)}.{millis:03d}Z"


def _postgres_row(ev: Event, tenant: str, exercise: str | None) -> tuple[Any, ...]:
    row = _row(ev, tenant, exercise)
    # PostgreSQL text cannot hold NUL, and JSONB refuses the \u0000 escape.
    nul = any(isinstance(value, str) and "\x00" in value for value in row[:-1])
    if nul or ("\\u0000" in row[-1] and _has_nul(ev.fields)):
        raise StoreError(
            f"event {ev.uid!r}: PostgreSQL cannot store a NUL character (\\x00)"
        )
    return row


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


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


#: Position of ``raw`` in a row of :data:`_INSERT_SQL`.
_RAW = _COLUMNS.split(", ").index("raw")


def _changes(conn: sa.Connection) -> int:
    """Rows this SQLite connection has inserted, updated or deleted since it opened."""
    driver = conn.connection.driver_connection
    return 0 if driver is None else int(driver.total_changes)


def _index_full_text(
    conn: sa.Connection,
    rows: list[tuple[Any, ...]],
    before: int,
    after: int,
    inserted: int,
) -> None:
    """Add the raw lines of a batch just stored (ids ``before+1..after``) to FTS5.

    When every row went in, they took the ids ``before+1...`` in order (one writer
    holds the lock), so their lines are bound from the batch itself: reading them
    back out of the table cost about 6 % of SQLite's work per event. When duplicates
    were skipped the ids have gaps (SQLite still uses one up for each skipped row),
    so the stored rows are read back.
    """
    if inserted == len(rows) == after - before:
        conn.exec_driver_sql(
            "INSERT INTO events_fts(rowid, raw) VALUES (?, ?)",
            [(before + n, row[_RAW]) for n, row in enumerate(rows, 1)],
        )
        return
    conn.exec_driver_sql(
        "INSERT INTO events_fts(rowid, raw) "
        "SELECT id, raw FROM events WHERE id > ? AND id <= ?",
        (before, after),
    )


def _max_id(conn: sa.Connection) -> int:
    # The sequence keeps the highest id ever assigned, even after a purge, so the
    # watermark never sees an id reused.
    if conn.dialect.name == "postgresql":
        seq = conn.exec_driver_sql(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq"
        ).scalar()
    else:
        seq = conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
        ).scalar()
    return int(seq or 0)


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)


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
