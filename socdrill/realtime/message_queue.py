"""Live updates through Redis (``SOCDRILL_REDIS_URL``): the engine publishes, every
web process delivers to its own sockets.

- :class:`JournalPublisher` runs in the process that ticks (``socdrill engine``, or
  ``socdrill serve`` in embedded mode). It reads journal rows after they are
  committed, whoever wrote them, and publishes each on the Socket.IO channel with a
  write-only ``socketio.RedisManager``: no Flask-SocketIO server, no Flask app
  behind it. Its cursor lives in Redis, so an engine that takes over goes on where
  the last one stopped.
- :class:`JournalQueue` is the web processes' client manager. Journal events that
  arrive on the channel go through the :class:`~socdrill.realtime.relay.RoomRelay`,
  which drops repeats and fills gaps from the journal; anything else (a disconnect
  another process asks for) is handled as Flask-SocketIO always does.

Publishing is at least once (a publisher that dies between publishing and saving
its cursor publishes the last few rows again); delivery is exactly once, because the
relay keys on each room's sequence number. A row that commits after a later one
(PostgreSQL hands out ids before commit) is caught by re-reading the last
``SETTLE_SECONDS`` of ids.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis
import socketio
import sqlalchemy as sa
from flask import Flask

from socdrill.extensions import db
from socdrill.models import ExerciseEvent
from socdrill.realtime.relay import RoomRelay, event_data, is_journal_event

log = logging.getLogger(__name__)

# One channel for the platform. Pub/Sub ignores database numbers, so each platform
# needs a Redis server of its own (docs/deployment.md).
CHANNEL = "socdrill"
POLL_SECONDS = 0.25
BATCH = 1000
# How long a journal row may stay uncommitted after a later row was published and
# still be published live (later than that, the web processes' sweep sends it).
SETTLE_SECONDS = 5.0


def cursor_key(channel: str = CHANNEL) -> str:
    """The Redis key holding the id below which every journal row was published."""
    return f"socdrill:realtime:{channel}:published"


class JournalQueue(socketio.RedisManager):
    """A web process's Socket.IO client manager on the Redis channel."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        super().__init__(url, channel=channel)
        self.relay: RoomRelay | None = None

    def _handle_emit(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        relay = self.relay
        if (
            relay is not None
            and not message.get("binary")
            and isinstance(data, list)
            and len(data) == 1
            and is_journal_event(data[0])
            and data[0]["room"] == message.get("room")
        ):
            relay.deliver(data[0])
            return
        super()._handle_emit(message)


class PublishError(RuntimeError):
    """Redis did not take a message (python-socketio logged why)."""


class _Emitter(socketio.RedisManager):
    """A write-only manager that says when a publish failed instead of dropping it."""

    def _publish(self, data: Any) -> Any:
        result = super()._publish(data)
        if result is None:
            raise PublishError("Redis refused or lost the message")
        return result


class JournalPublisher:
    """Publishes each committed journal row through Redis (the ticking process)."""

    def __init__(
        self,
        app: Flask,
        redis_url: str,
        *,
        channel: str = CHANNEL,
        active: Callable[[], bool] | None = None,
    ) -> None:
        self.app = app
        self.emitter = _Emitter(redis_url, channel=channel, write_only=True)
        self.redis = redis.Redis.from_url(redis_url)
        self.key = cursor_key(channel)
        # Publishes only while this is true (the engine: while it holds the lock).
        self.active = active or (lambda: True)
        self.floor: int | None = None
        self.sent: set[int] = set()
        self._marks: deque[tuple[float, int]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publishing = False

    def start(self) -> None:
        """Publish in the background; when already active, take up the position
        in the journal first, so rows committed from now on are published."""
        if self.active():
            self._activate()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="socdrill-journal-publisher", daemon=True
            )
            self._thread.start()

    def _activate(self) -> None:
        """Take up the saved position (a waiting engine's may be long stale)."""
        with self.app.app_context():
            try:
                self.floor = self._load_floor()
            finally:
                db.session.remove()
        self.sent.clear()
        self._marks.clear()
        # The first publisher ever saves where it starts; later ones go on from
        # the saved position and never move it back.
        self.redis.set(self.key, self.floor, nx=True)
        self._publishing = True

    def notify(self) -> None:
        """Rows were just committed: publish now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.redis.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if not self.active():
                self._publishing = False
                continue
            try:
                if not self._publishing:
                    self._activate()
                with self.app.app_context():
                    try:
                        while self.publish_once() == BATCH:
                            pass
                    finally:
                        db.session.remove()
            except Exception:  # Redis or the database away for a moment
                log.exception("journal publisher failed; retrying")
                time.sleep(POLL_SECONDS)

    def _load_floor(self) -> int:
        head = int(db.session.scalar(sa.select(sa.func.max(ExerciseEvent.id))) or 0)
        stored = self.redis.get(self.key)
        if stored is None or int(stored) > head:
            # First start, or Redis belongs to another database: rows committed
            # before now are not pushed (clients replay them when they join).
            return head
        # After a long outage the web processes' sweeps have sent the old rows;
        # publishing thousands again would only be dropped as repeats.
        return max(int(stored), head - BATCH)

    def publish_once(self) -> int:
        """Publish the rows committed since the last pass; return how many.
        Call in an app context."""
        if self.floor is None:
            self.floor = self._load_floor()
        ids = db.session.scalars(
            sa.select(ExerciseEvent.id)
            .where(ExerciseEvent.id > self.floor)
            .order_by(ExerciseEvent.id)
        ).all()
        pending = [row_id for row_id in ids if row_id not in self.sent]
        batch = pending[:BATCH]
        rows = (
            db.session.scalars(
                sa.select(ExerciseEvent)
                .where(ExerciseEvent.id.in_(batch))
                .order_by(ExerciseEvent.id)
            ).all()
            if batch
            else []
        )
        events = [(row.id, event_data(row)) for row in rows]
        db.session.commit()
        # Rows deleted since (with their exercise) have nothing left to publish.
        self.sent.update(set(batch) - {row_id for row_id, _ in events})
        published = 0
        for row_id, data in events:
            try:
                self.emitter.emit(data["kind"], data, namespace="/", room=data["room"])
            except PublishError:
                break  # tried again next pass, in order
            self.sent.add(row_id)
            published += 1
        remaining = [row_id for row_id in pending if row_id not in self.sent]
        if remaining:
            self._settle(remaining[0] - 1)
        else:
            self._settle(ids[-1] if ids else self.floor)
        return published

    def _settle(self, seen: int) -> None:
        """Move the floor to what was seen ``SETTLE_SECONDS`` ago and save it."""
        now = time.monotonic()
        self._marks.append((now, seen))
        floor = self.floor or 0
        while self._marks and now - self._marks[0][0] >= SETTLE_SECONDS:
            floor = max(floor, self._marks.popleft()[1])
        if floor != self.floor:
            self.floor = floor
            self.sent = {row_id for row_id in self.sent if row_id > floor}
            self.redis.set(self.key, floor)
