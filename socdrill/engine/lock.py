"""The engine's leader lock: exactly one engine ticks; a second one waits.

The lock itself is :class:`socdrill.leader.LeaderLock` (a ``flock`` beside the
SQLite database, or a PostgreSQL advisory lock), named ``engine``; both are
released by the system when the holder dies, even by ``kill -9``. This module only
adds the wait loop the ticker needs: poll until the lock is ours or we are told
to stop, and notice when a lost database session took the lock away.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from socdrill.leader import LeaderLock

LOCK_NAME = "engine"


def engine_lock(database: sa.Engine) -> LeaderLock:
    """The engine's lock for the app database ``database``."""
    return LeaderLock(database.url, LOCK_NAME)


def wait_for(lock: LeaderLock, stop: threading.Event, poll: float = 0.5) -> bool:
    """Block until ``lock`` is ours (True) or ``stop`` is set (False)."""
    while not stop.is_set():
        if lock.acquire(timeout=poll):
            return True
    return False
