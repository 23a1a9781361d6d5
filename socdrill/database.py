"""SQLite connection setup, write transactions and PostgreSQL advisory locks.

Every SQLite connection gets WAL, foreign keys and a busy timeout. pysqlite's own
transaction handling is switched off so that we emit ``BEGIN`` ourselves: plain
``BEGIN`` for reads and ``BEGIN IMMEDIATE`` inside :func:`write_transaction`, because a
deferred transaction that reads and then writes can fail at once with SQLITE_BUSY
when another writer committed in between, and the busy timeout does not help then.

PostgreSQL needs none of that: its transactions run at READ COMMITTED, and code that
checks a row and then changes it locks the row first (``SELECT … FOR UPDATE``, as the
exercise lifecycle and inject firing do). The advisory-lock helpers at the end serve
the engine's leader lock (:mod:`socdrill.leader`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from socdrill.extensions import db

IMMEDIATE = "socdrill_begin_immediate"
WRITE_DEPTH = "socdrill_write_depth"
BUSY_TIMEOUT_MS = 10_000
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let the "begin" listener emit BEGIN; pysqlite would otherwise defer it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_begin(connection: sa.Connection) -> None:
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def configure_sqlite(engine: sa.Engine) -> None:
    """Install the pragma and BEGIN listeners on a SQLite engine (no-op otherwise)."""
    if engine.dialect.name != "sqlite":
        return
    sa.event.listen(engine, "connect", _on_connect)
    sa.event.listen(engine, "begin", _on_begin)


def init_app(app: Flask) -> None:
    """Configure every engine Flask-SQLAlchemy created for ``app``."""
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite(engine)


@contextmanager
def write_transaction(session: so.Session | None = None) -> Iterator[so.Session]:
    """Run a block as one write transaction (``BEGIN IMMEDIATE`` on SQLite, a plain
    transaction on PostgreSQL).

    Any read transaction already open is committed first, so the write transaction
    starts fresh and re-reads what it checks. The block commits on success and rolls
    back on any exception. A nested call joins the outer transaction: only the
    outermost block commits, so a helper can never commit half of its caller's work.
    """
    session = session if session is not None else db.session()
    depth = session.info.get(WRITE_DEPTH, 0)
    if depth:
        session.info[WRITE_DEPTH] = depth + 1
        try:
            yield session
        finally:
            session.info[WRITE_DEPTH] = depth
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    session.info[WRITE_DEPTH] = 1
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[WRITE_DEPTH] = 0


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (same in every process)."""
    digest = hashlib.blake2b(f"socdrill:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def try_advisory_lock(
    connection: sa.Connection, key: int, timeout_s: float | None = 0.0
) -> bool:
    """Take a session-level PostgreSQL advisory lock on ``connection``.

    ``timeout_s`` 0 tries once, ``None`` waits as long as it takes, a positive value
    waits that long (the server's ``lock_timeout``). The connection must be in
    autocommit mode and kept open: the lock lives as long as the session, and the
    server releases it when the session ends, also when its process is killed.
    """
    if timeout_s == 0:
        return bool(
            connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
            ).scalar()
        )
    if timeout_s is None:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        return True
    milliseconds = max(1, round(timeout_s * 1000))
    connection.exec_driver_sql(f"SET lock_timeout = {milliseconds:d}")
    try:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        return True
    except sa.exc.OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    finally:
        connection.exec_driver_sql("RESET lock_timeout")


def holds_advisory_lock(connection: sa.Connection, key: int) -> bool:
    """Does this session hold the advisory lock ``key``? (pg_locks splits a 64-bit
    key into two 32-bit halves.)"""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    held = connection.execute(
        sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
            "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid)"
        ),
        {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF},
    ).scalar()
    return bool(held)


def advisory_unlock(connection: sa.Connection, key: int) -> bool:
    """Release a session-level advisory lock; false if this session did not hold it."""
    return bool(
        connection.execute(
            sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key}
        ).scalar()
    )
