"""Socket.IO handlers: authenticated connect, authorised joins, replay by sequence.

A client connects with its browser session (an anonymous one is refused), then
emits ``join`` with ``{"room": ..., "last_seq": N}`` for each room it wants. The
server re-authorises, joins it to the room and sends, in order, every event of the
room after ``N``; if more than the replay limit were missed it sends ``resync``
instead and the client refetches over HTTP. The acknowledgement carries the
room's current sequence number. Server events are named by their kind
(``alert.new``, ``exercise.state``…) and carry ``{room, seq, kind, payload, at}``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import SocketIO, join_room, leave_room

from socdrill.extensions import db
from socdrill.realtime.pump import JournalPump
from socdrill.realtime.relay import RoomRelay
from socdrill.realtime.rooms import may_join, user_room

PUMP_KEY = "socdrill_journal_pump"
RELAY_KEY = "socdrill_room_relay"


def pump_for(app: Any) -> JournalPump:
    return app.extensions[PUMP_KEY]


def relay_for(app: Any) -> RoomRelay:
    return app.extensions[RELAY_KEY]


def _user() -> Any:
    user = current_user
    if not user.is_authenticated or not user.active:
        return None
    return user._get_current_object()


def on_connect(auth: Any = None) -> bool:
    """Refuse anonymous sockets; remember whose socket this is."""
    user = _user()
    if user is None:
        return False
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pump = pump_for(app)
    pump.start()
    pump.sockets[request.sid] = (user.id, user.session_nonce)  # type: ignore[attr-defined]
    join_room(user_room(user.id))
    relay_for(app).track(user_room(user.id))
    db.session.remove()
    return True


def on_disconnect(reason: Any = None) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pump_for(app).sockets.pop(request.sid, None)  # type: ignore[attr-defined]


def on_join(data: Any) -> dict[str, Any]:
    """Join one room (after authorising it) and replay what the client missed."""
    user = _user()
    if user is None:
        return {"ok": False, "error": "not signed in"}
    room = data.get("room") if isinstance(data, dict) else None
    last = data.get("last_seq", 0) if isinstance(data, dict) else 0
    if not isinstance(last, int) or isinstance(last, bool) or last < 0:
        return {"ok": False, "error": "last_seq must be a whole number"}
    if not isinstance(room, str) or not may_join(user, room):
        db.session.remove()
        return {"ok": False, "error": "no such room"}
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return relay_for(app).join(
            request.sid,  # type: ignore[attr-defined]
            room,
            last,
            lambda: join_room(room),
        )
    finally:
        db.session.remove()


def on_leave(data: Any) -> dict[str, Any]:
    room = data.get("room") if isinstance(data, dict) else None
    if isinstance(room, str):
        leave_room(room)
    return {"ok": True}


def register(socketio: SocketIO) -> None:
    socketio.on_event("connect", on_connect)
    socketio.on_event("disconnect", on_disconnect)
    socketio.on_event("join", on_join)
    socketio.on_event("leave", on_leave)
