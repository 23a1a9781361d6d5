"""The leader lock: at most one process at a time may hold a named role (the engine).

A second ``socdrill engine`` waits on the lock and takes over as soon as the first one
dies, whatever way it dies: the lock belongs to something the operating system or the
database server cleans up with the process.

- **PostgreSQL**: a session-level advisory lock on a dedicated connection. The server
  releases it when that session ends, and a killed process's socket closes at once.
- **SQLite** (embedded mode): an exclusive ``flock`` on a file beside the database
  file. The kernel releases it when the process exits, however it exits.

Usage::

    with LeaderLock(db.engine.url, "engine"):
        run_the_engine()

or ``lock.acquire(blocking=False)`` / ``lock.acquire(timeout=5)``, ``lock.held()`` on
every tick, and ``lock.release()``. One instance is meant for one thread.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol

import sqlalchemy as sa

from socdrill.database import (
    advisory_lock_key,
    advisory_unlock,
    holds_advisory_lock,
    try_advisory_lock,
)

LOCK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FILE_POLL_S = 0.05


class LeaderLockError(RuntimeError):
    """The lock cannot be used with this database or name; the message says why."""


class _Backend(Protocol):
    def acquire(self, timeout_s: float | None) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class _AdvisoryLock:
    """A PostgreSQL advisory lock held on its own autocommit connection."""

    def __init__(self, url: sa.URL, name: str) -> None:
        self.key = advisory_lock_key(f"leader:{name}")
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.NullPool,
            isolation_level="AUTOCOMMIT",
            # Operators see who holds the lock in pg_stat_activity.
            connect_args={"application_name": f"socdrill leader {name}"},
        )
        self.connection: sa.Connection | None = None

    def acquire(self, timeout_s: float | None) -> bool:
        connection = self.engine.connect()
        try:
            acquired = try_advisory_lock(connection, self.key, timeout_s)
        except BaseException:
            connection.close()
            raise
        if acquired:
            self.connection = connection
        else:
            connection.close()
        return acquired

    def held(self) -> bool:
        if self.connection is None:
            return False
        try:
            return holds_advisory_lock(self.connection, self.key)
        except sa.exc.SQLAlchemyError:
            return False  # the session is gone, and the lock with it

    def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            advisory_unlock(connection, self.key)
        except sa.exc.SQLAlchemyError:
            pass  # a lost session holds nothing any more
        finally:
            connection.close()
            self.engine.dispose()


class _FileLock:
    """An exclusive flock on ``<database file>.<name>.lock``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, timeout_s: float | None) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if timeout_s is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            elif not self._poll(fd, timeout_s):
                os.close(fd)
                return False
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        # Who holds it, for an operator looking at the file.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return True

    @staticmethod
    def _poll(fd: int, timeout_s: float) -> bool:
        import fcntl

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                time.sleep(min(FILE_POLL_S, remaining))

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock


def _backend_for(url: str | sa.URL, name: str) -> _Backend:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        # The URL is not echoed: it may hold a password.
        raise LeaderLockError(
            "not a database URL (expected postgresql+psycopg://… or sqlite:///PATH)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return _AdvisoryLock(parsed, name)
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise LeaderLockError(
                "a leader lock needs a SQLite database file, not an in-memory database"
            )
        if os.name != "posix":
            raise LeaderLockError(
                "the SQLite leader lock needs a POSIX system (flock); "
                "use PostgreSQL here"
            )
        database_path = Path(database.removeprefix("file:")).resolve()
        if not database_path.parent.is_dir():
            raise LeaderLockError(
                f"the folder of the SQLite database does not exist: "
                f"{database_path.parent}"
            )
        return _FileLock(database_path.with_name(f"{database_path.name}.{name}.lock"))
    raise LeaderLockError(
        f"a leader lock needs a PostgreSQL or SQLite database, not {backend!r}"
    )


class LeaderLock:
    """A named lock that at most one process holds at a time (see the module doc)."""

    def __init__(self, url: str | sa.URL, name: str) -> None:
        """``url`` is the app database's URL (pass ``db.engine.url`` so a relative
        SQLite path means the same file in every process); ``name`` the role."""
        if not isinstance(name, str) or not LOCK_NAME.fullmatch(name):
            raise LeaderLockError(
                f"lock name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        self.name = name
        self._backend = _backend_for(url, name)
        self._held = False

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; true once held (at once if this instance holds it already).

        ``blocking=False`` tries once. ``blocking=True`` waits, for at most ``timeout``
        seconds when one is given, and returns false if the time ran out.
        """
        if not blocking and timeout is not None:
            raise ValueError("a non-blocking acquire takes no timeout")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be zero or more seconds, got {timeout}")
        if self._held:
            return True
        self._held = self._backend.acquire(0.0 if not blocking else timeout)
        return self._held

    def held(self) -> bool:
        """Is the lock still ours? False after a release, or when the database
        session that held it was lost (the leader must then stop leading)."""
        if self._held and not self._backend.held():
            self.release()
        return self._held

    def release(self) -> None:
        """Give the lock up (nothing happens when it is not held)."""
        self._held = False
        self._backend.release()

    def __enter__(self) -> LeaderLock:
        self.acquire()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<LeaderLock {self.name} {'held' if self._held else 'free'}>"
