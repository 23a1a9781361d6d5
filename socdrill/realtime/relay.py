"""Journal events to this process's sockets: each once, in sequence order per room.

Events reach a web process from a source that may repeat or skip one: the local
journal pump (which reads by row id, and on PostgreSQL a row can commit after a
later one), or the Redis message queue (a publisher may resend after a restart, and
a subscriber loses what is published while it reconnects). The relay makes that
safe: it remembers, for every room with a socket here, the last sequence number it
delivered. An event at or below it is a repeat and is dropped; an event above the
next number first brings the room up to date from the journal, so a room's sockets
never see a gap. :meth:`RoomRelay.sweep` does the same for rooms whose newest
events never arrived at all. A joining socket is brought up to date under the same
lock, so replay and live events never overlap.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa
from flask import Flask

from socdrill.exercise import journal
from socdrill.extensions import db
from socdrill.models import ExerciseEvent

log = logging.getLogger(__name__)

NAMESPACE = "/"
# Rooms asked about in one sweep query.
SWEEP_CHUNK = 500


def event_data(row: ExerciseEvent) -> dict[str, Any]:
    """What a client receives: room, sequence number, kind, payload, time."""
    return {
        "room": row.room,
        "seq": row.seq,
        "kind": row.kind,
        "payload": row.payload,
        "at": row.created_at.isoformat(),
    }


def is_journal_event(data: Any) -> bool:
    """Does ``data`` look like :func:`event_data` (as it arrives over a queue)?"""
    return (
        isinstance(data, dict)
        and isinstance(data.get("room"), str)
        and isinstance(data.get("seq"), int)
        and not isinstance(data.get("seq"), bool)
        and isinstance(data.get("kind"), str)
    )


class RoomRelay:
    """Delivers journal events to the local sockets of their rooms, exactly once."""

    def __init__(self, app: Flask, server: Any, replay_limit: int) -> None:
        self.app = app
        # The python-socketio server of this app (the shared Flask-SocketIO object
        # is re-bound by every app a test run creates).
        self.server = server
        self.replay_limit = replay_limit
        # Held while delivering and while a socket joins, so every socket gets a
        # room's events in sequence order and none twice.
        self.lock = threading.RLock()
        # room -> last sequence number delivered to the room's sockets here
        self.delivered: dict[str, int] = {}

    # --- sending ---------------------------------------------------------------------

    def send(self, event: str, data: dict[str, Any], to: str) -> None:
        """Emit to local sockets only: the queue already reached every process."""
        self.server.emit(event, data, to=to, namespace=NAMESPACE, ignore_queue=True)

    def has_members(self, room: str) -> bool:
        return bool(self.server.manager.rooms.get(NAMESPACE, {}).get(room))

    # --- live events -----------------------------------------------------------------

    def deliver(self, data: dict[str, Any]) -> bool:
        """Deliver one committed journal event; false when dropped as a repeat or
        because no socket here is in its room."""
        room, seq = data["room"], data["seq"]
        with self.lock:
            if not self.has_members(room):
                self.delivered.pop(room, None)
                return False
            last = self.delivered.get(room)
            if last is not None and seq <= last:
                return False
            if last is not None and seq > last + 1:
                self._catch_up_isolated(room, last, seq - 1)
            self.send(data["kind"], data, room)
            self.delivered[room] = seq
            return True

    def _catch_up_isolated(self, room: str, after: int, upto: int) -> None:
        """:meth:`catch_up` in its own app context (and so its own session)."""
        with self.app.app_context():
            try:
                self.catch_up(room, after, upto)
            finally:
                db.session.remove()

    def catch_up(self, room: str, after: int, upto: int, sid: str | None = None) -> int:
        """Send the journal events ``after < seq <= upto`` to ``room`` (or to the
        socket ``sid``), or ``resync`` when there are more than the replay limit.
        Call with the lock held, in an app context; returns how many were sent."""
        if upto <= after:
            return 0
        target = sid or room
        if upto - after > self.replay_limit:
            self.send("resync", {"room": room, "seq": upto}, target)
            return 0
        rows = [
            row
            for row in journal.events_since(room, after, upto - after)
            if row.seq <= upto
        ]
        for row in rows:
            self.send(row.kind, event_data(row), target)
        if len(rows) != upto - after:
            # Rows of a deleted exercise are gone; the client refetches instead.
            log.warning("journal of %s has gaps in (%s, %s]", room, after, upto)
        return len(rows)

    # --- joining ---------------------------------------------------------------------

    def join(self, sid: str, room: str, last_seq: int, enter: Any) -> dict[str, Any]:
        """Put ``sid`` in ``room`` (``enter()`` does) and replay what it missed after
        ``last_seq``. Call in the socket's app context."""
        with self.lock:
            # A fresh read: it must see every event this process delivered already.
            db.session.commit()
            current = journal.last_seq(room)
            tracked = self.delivered.get(room) if self.has_members(room) else None
            if tracked is not None and tracked < current:
                # The room's sockets here first get what is committed so far, so the
                # joining one is not handed anything they lack.
                self.catch_up(room, tracked, current)
            head = max(current, tracked or 0)
            enter()
            if last_seq < head and head - last_seq > self.replay_limit:
                self.send("resync", {"room": room, "seq": head}, sid)
                replayed = 0
            else:
                replayed = self.catch_up(room, last_seq, head, sid=sid)
            self.delivered[room] = head
        return {"ok": True, "room": room, "seq": head, "replayed": replayed}

    def track(self, room: str) -> None:
        """Start tracking a room a socket entered without a replay (its own
        ``user:<id>`` room at connect). Call in an app context."""
        with self.lock:
            if room not in self.delivered:
                db.session.commit()
                self.delivered[room] = journal.last_seq(room)

    # --- repair ----------------------------------------------------------------------

    def sweep(self) -> int:
        """Bring every room with sockets here up to its newest committed event (for
        events a source never handed over). Call in an app context; returns how
        many events were sent."""
        with self.lock:
            for room in [r for r in self.delivered if not self.has_members(r)]:
                del self.delivered[room]
            rooms = dict(self.delivered)
        if not rooms:
            return 0
        db.session.commit()
        names = sorted(rooms)
        heads: dict[str, int] = {}
        for start in range(0, len(names), SWEEP_CHUNK):
            chunk = names[start : start + SWEEP_CHUNK]
            heads.update(
                db.session.execute(
                    sa.select(ExerciseEvent.room, sa.func.max(ExerciseEvent.seq))
                    .where(ExerciseEvent.room.in_(chunk))
                    .group_by(ExerciseEvent.room)
                ).all()
            )
        db.session.commit()
        sent = 0
        for room, head in heads.items():
            if head <= rooms[room]:
                continue
            with self.lock:
                last = self.delivered.get(room)
                if last is None or not self.has_members(room) or head <= last:
                    continue
                sent += self.catch_up(room, last, head)
                self.delivered[room] = head
        return sent
