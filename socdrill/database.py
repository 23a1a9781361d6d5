"""SQLite connection setup and write transactions.

Every SQLite connection gets WAL, foreign keys and a busy timeout. pysqlite's own
transaction handling is switched off so that we emit ``BEGIN`` ourselves: plain
``BEGIN`` for reads and ``BEGIN IMMEDIATE`` inside :func:`write_transaction`, because a
deferred transaction that reads and then writes can fail at once with SQLITE_BUSY
when another writer committed in between, and the busy timeout does not help then.
"""

from __future__ import annotations

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
    """Run a block as one write transaction (``BEGIN IMMEDIATE`` on SQLite).

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
