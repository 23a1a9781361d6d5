"""The journal pump: each web process's background thread for live updates.

Everything that changes (the engine, a control action over HTTP, the CLI in another
process) writes journal rows in its own transaction. Without a message queue this
thread reads the rows committed since it last looked and hands each to the
:class:`~socdrill.realtime.relay.RoomRelay`, so an emit never precedes its commit
and every writer is covered without knowing about sockets. With the Redis queue
(``SOCDRILL_REDIS_URL``) the engine publishes the rows instead and this thread does
not read them (``pumping`` is off).

In both modes it also sweeps the rooms with sockets here for events that never
arrived (see the relay) and ends the sockets of people whose sessions ended
(logout, password change, disabled account). It wakes every ``POLL_SECONDS`` or at
once when :meth:`JournalPump.notify` is called.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask

from socdrill.extensions import db
from socdrill.models import ExerciseEvent, User
from socdrill.realtime.relay import RoomRelay, event_data

log = logging.getLogger(__name__)

__all__ = ["JournalPump", "event_data"]

POLL_SECONDS = 0.25
BATCH = 1000
SESSION_CHECK_SECONDS = 2.0
SWEEP_SECONDS = 2.0


class JournalPump:
    """Feeds committed journal rows to the relay; one per web process."""

    def __init__(
        self, app: Flask, server: Any, relay: RoomRelay, *, pumping: bool = True
    ) -> None:
        self.app = app
        self.server = server
        self.relay = relay
        # False when a message queue brings the events (the engine publishes them).
        self.pumping = pumping
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()
        self.last_id = 0
        # sid -> (user id, session nonce) of every connected socket
        self.sockets: dict[str, tuple[int, str]] = {}
        self._checked = 0.0
        self._swept = 0.0

    def start(self) -> None:
        """Start the pump thread once; events already committed are not re-sent
        (connecting clients replay what they missed)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
            with self.app.app_context():
                self.last_id = int(
                    db.session.scalar(sa.select(sa.func.max(ExerciseEvent.id))) or 0
                )
                db.session.remove()
            self.server.start_background_task(self._run)

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                with self.app.app_context():
                    while self.pumping and self.pump_once() == BATCH:
                        pass
                    self._sweep()
                    self._check_sessions()
                    db.session.remove()
            except Exception:  # the pump must outlive a bad moment of the database
                log.exception("journal pump failed; retrying")
                time.sleep(POLL_SECONDS)

    def pump_once(self) -> int:
        """Hand the rows committed after ``last_id`` to the relay; return how many.

        A row that commits after a later one was read is skipped here; the relay
        fills it in from the journal before the room's next event (or at the next
        sweep), so nobody misses it.
        """
        rows = db.session.scalars(
            sa.select(ExerciseEvent)
            .where(ExerciseEvent.id > self.last_id)
            .order_by(ExerciseEvent.id)
            .limit(BATCH)
        ).all()
        events = [event_data(row) for row in rows]
        last_id = rows[-1].id if rows else self.last_id
        db.session.commit()
        for data in events:
            self.relay.deliver(data)
        self.last_id = last_id
        return len(events)

    def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        self.relay.sweep()

    def _check_sessions(self) -> None:
        now = time.monotonic()
        if now - self._checked < SESSION_CHECK_SECONDS or not self.sockets:
            return
        self._checked = now
        current = dict(self.sockets)
        users = {
            user.id: user
            for user in db.session.scalars(
                sa.select(User).where(User.id.in_({uid for uid, _ in current.values()}))
            )
        }
        for sid, (user_id, nonce) in current.items():
            user = users.get(user_id)
            if user is None or not user.active or user.session_nonce != nonce:
                self.sockets.pop(sid, None)
                self.server.disconnect(sid)
