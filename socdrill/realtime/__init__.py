"""Live updates over Socket.IO (threading mode): rooms, replay, the journal pump.

Socket.IO only notifies; data comes over HTTP (ARCHITECTURE.md rule 2). Every
server event carries its room's sequence number from the ``exercise_events``
journal, and a reconnecting client gets exactly what it missed. With
``REALTIME_ENABLED`` off the app runs without live updates: every control action,
ENDEX and the emergency stop still work over plain HTTP and the CLI.

Without ``REDIS_URL`` each web process reads the journal itself (the pump). With
it, the ticking process publishes the journal through Redis
(:func:`publisher`) and web processes only deliver (see ``message_queue``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from socdrill.engine.settings import engine_settings
from socdrill.extensions import socketio
from socdrill.realtime import handlers
from socdrill.realtime.message_queue import JournalPublisher, JournalQueue
from socdrill.realtime.pump import JournalPump
from socdrill.realtime.relay import RoomRelay

_registered = False


def redis_url(app: Flask) -> str | None:
    """The message queue's URL when live updates go through Redis."""
    url = app.config.get("REDIS_URL")
    return str(url) if url else None


def init_app(app: Flask) -> None:
    """Bind Socket.IO to ``app`` unless live updates are switched off."""
    global _registered
    settings = engine_settings(app.config)
    if not settings.realtime:
        return
    if not _registered:
        # Before init_app: handlers registered earlier are applied to every
        # server init_app creates (one per app).
        handlers.register(socketio)
        _registered = True
    url = redis_url(app)
    queue = JournalQueue(url) if url else None
    socketio.init_app(
        app,
        async_mode="threading",
        # Same origin only: a page on another site cannot open a socket with our
        # session cookie.
        cors_allowed_origins=None,
        logger=False,
        engineio_logger=False,
        # Always named: Flask-SocketIO keeps options from one init_app to the
        # next, and an app without Redis must not inherit another app's queue.
        client_manager=queue,
    )
    relay = RoomRelay(app, socketio.server, settings.replay_limit)
    if queue is not None:
        queue.relay = relay
    app.extensions[handlers.RELAY_KEY] = relay
    app.extensions[handlers.PUMP_KEY] = JournalPump(
        app, socketio.server, relay, pumping=queue is None
    )


def notifier(app: Flask) -> Callable[[], None] | None:
    """A callable that wakes ``app``'s pump (None without live updates)."""
    pump = app.extensions.get(handlers.PUMP_KEY)
    if pump is None:
        return None
    return pump.notify


def start(app: Flask) -> None:
    """Start the pump now (the server does; otherwise the first socket does)."""
    pump = app.extensions.get(handlers.PUMP_KEY)
    if pump is not None:
        pump.start()


def publisher(
    app: Flask, active: Callable[[], bool] | None = None
) -> JournalPublisher | None:
    """The journal publisher for the ticking process, when live updates go through
    Redis (None otherwise: web processes then read the journal themselves)."""
    url = redis_url(app)
    if url is None or not engine_settings(app.config).realtime:
        return None
    return JournalPublisher(app, url, active=active)
