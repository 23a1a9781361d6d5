"""Live updates against a real server on 127.0.0.1, with the real Socket.IO client.

The server is werkzeug's threaded server with simple-websocket, the one
``socketio.run`` starts in threading mode, made here with ``make_server`` so each
test can shut its own down. Clients sign in through the login form and connect
with their session cookie, as a browser does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import socketio
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from socdrill.database import write_transaction
from socdrill.engine.ticker import Engine
from socdrill.exercise import journal, lifecycle
from socdrill.extensions import db
from socdrill.models import Exercise, User, utcnow
from tests.web.conftest import PASSWORD, Browser
from tests.web.test_engine_support import engine_app, make_drill, start

WAIT = 10.0


class Server:
    """The app served on a free loopback port in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def cookie(self, username: str) -> str:
        """A signed-in session cookie for ``username`` (through the login form)."""
        client = self.app.test_client()
        response = Browser(client).login(username, PASSWORD)
        assert response.status_code in (302, 303), response.status_code
        cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        return f"{cookie.key}={cookie.value}"

    def client(self, username: str | None) -> socketio.SimpleClient:
        sio = socketio.SimpleClient()
        headers = {"Cookie": self.cookie(username)} if username else {}
        sio.connect(self.url, headers=headers, transports=["websocket"])
        return sio

    def close(self) -> None:
        self.httpd.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def served(tmp_path, monkeypatch) -> Iterator[tuple[Flask, Server]]:
    app = engine_app(tmp_path, monkeypatch, REALTIME_REPLAY_LIMIT=50)
    server = Server(app)
    with app.app_context():
        yield app, server
        db.session.remove()
    server.close()
    with app.app_context():
        db.engine.dispose()


def join(sio: socketio.SimpleClient, room: str, last_seq: int = 0) -> dict[str, Any]:
    return sio.call("join", {"room": room, "last_seq": last_seq}, timeout=WAIT)


def receive_all(sio: socketio.SimpleClient, quiet: float = 1.0) -> list[list[Any]]:
    """Every event until nothing arrives for ``quiet`` seconds."""
    got = []
    while True:
        try:
            got.append(sio.receive(timeout=quiet))
        except socketio.exceptions.TimeoutError:
            return got


def append(room: str, kind: str, n: int, exercise_id: int | None = None) -> None:
    with write_transaction():
        for index in range(n):
            journal.append_room_event(room, kind, {"n": index}, exercise_id=exercise_id)


def test_an_anonymous_socket_is_refused(served):
    _, server = served
    with pytest.raises(socketio.exceptions.ConnectionError):
        server.client(None)


def test_joining_another_tenants_or_teams_room_is_refused(served):
    _, server = served
    drill = make_drill()
    other = make_drill(slug="globex")
    sio = server.client(drill.analyst.username)
    try:
        assert join(sio, journal.tenant_room(drill.tenant_id))["ok"] is True
        assert join(sio, journal.team_room(drill.team_id))["ok"] is True
        refused = [
            journal.tenant_room(other.tenant_id),
            journal.team_room(other.team_id),
            journal.participant_room(other.exercise_id),
            journal.control_room(drill.exercise_id),  # ground truth: control only
            "user:99999",
            "nonsense",
        ]
        for room in refused:
            assert join(sio, room) == {"ok": False, "error": "no such room"}, room
        append(journal.tenant_room(other.tenant_id), "alert.new", 3)
        append(journal.tenant_room(drill.tenant_id), "alert.new", 1)
        got = receive_all(sio)
        assert [(event, data["room"]) for event, data in got] == [
            ("alert.new", journal.tenant_room(drill.tenant_id))
        ]
    finally:
        sio.disconnect()


def test_a_reconnecting_client_receives_exactly_the_20_events_it_missed(served):
    _, server = served
    drill = make_drill()
    room = journal.participant_room(drill.exercise_id)
    append(room, "exercise.note", 3, drill.exercise_id)
    sio = server.client(drill.analyst.username)
    ack = join(sio, room, 0)
    assert ack["ok"] and ack["replayed"] == 3 and ack["seq"] == 3
    seen = [data["seq"] for _, data in receive_all(sio)]
    assert seen == [1, 2, 3]
    sio.disconnect()
    append(room, "exercise.note", 20, drill.exercise_id)
    sio = server.client(drill.analyst.username)
    try:
        ack = join(sio, room, seen[-1])
        got = receive_all(sio)
    finally:
        sio.disconnect()
    assert ack == {"ok": True, "room": room, "seq": 23, "replayed": 20}
    assert [data["seq"] for _, data in got] == list(range(4, 24))
    assert all(event == "exercise.note" and data["room"] == room for event, data in got)


def test_a_gap_larger_than_the_replay_limit_asks_for_a_resync(served):
    _, server = served
    drill = make_drill()
    room = journal.participant_room(drill.exercise_id)
    append(room, "exercise.note", 60, drill.exercise_id)
    sio = server.client(drill.analyst.username)
    try:
        ack = join(sio, room, 2)
        got = receive_all(sio)
    finally:
        sio.disconnect()
    assert ack["ok"] and ack["replayed"] == 0
    assert got == [["resync", {"room": room, "seq": 60}]]


def test_a_malformed_join_is_refused(served):
    _, server = served
    drill = make_drill()
    sio = server.client(drill.analyst.username)
    try:
        room = journal.tenant_room(drill.tenant_id)
        for bad in ({"room": room, "last_seq": -1}, {"room": room, "last_seq": "1"}):
            assert join_raw(sio, bad)["ok"] is False
        assert join_raw(sio, "not a mapping")["ok"] is False
    finally:
        sio.disconnect()


def join_raw(sio: socketio.SimpleClient, data: Any) -> dict[str, Any]:
    return sio.call("join", data, timeout=WAIT)


def test_the_engine_pushes_alerts_to_the_tenant_room_live(served):
    app, server = served
    drill = make_drill()
    sio = server.client(drill.analyst.username)
    try:
        assert join(sio, journal.tenant_room(drill.tenant_id))["ok"]
        begin = utcnow() - timedelta(minutes=2)
        start(drill, begin)
        engine = Engine(app)
        for step in range(0, 40, 10):  # the first 40 scenario minutes at 60x
            engine.tick(begin + timedelta(seconds=step))
        got = receive_all(sio, quiet=2.0)
    finally:
        sio.disconnect()
    alerts = [data for event, data in got if event == "alert.new"]
    assert len(alerts) >= 3
    assert [a["seq"] for a in alerts] == list(range(1, len(alerts) + 1))
    titles = {a["payload"]["rule_title"] for a in alerts}
    assert any("PowerShell" in title for title in titles)
    # An ordinary SIEM alert: nothing says it belongs to an exercise or a stage.
    assert all(set(a["payload"]) >= {"alert_id", "rule_title", "host"} for a in alerts)
    assert all("stages" not in a["payload"] for a in alerts)


def test_an_unannounced_drill_reaches_analysts_only_after_endex(served):
    app, server = served
    drill = make_drill(announced=False, slug="secret")
    analyst = server.client(drill.analyst.username)
    browser = Browser(app.test_client())
    browser.login(drill.analyst.username)
    try:
        team = journal.team_room(drill.team_id)
        exercise_room = journal.participant_room(drill.exercise_id)
        assert join(analyst, team)["ok"]
        assert join(analyst, exercise_room)["ok"] is False
        begin = utcnow() - timedelta(minutes=3)
        start(drill, begin)
        engine = Engine(app)
        for step in range(0, 200, 20):  # stages and crisis messages fall due
            engine.tick(begin + timedelta(seconds=step))
        assert receive_all(analyst) == []
        assert browser.get("/api/v1/exercises").get_json()["exercises"] == []
        assert browser.get(f"/api/v1/exercises/{drill.exercise_id}").status_code == 404
        page = browser.get("/dashboard").get_data(as_text=True)
        assert "Drill secret" not in page
        lifecycle.endex(drill.exercise_id, drill.manager, utcnow(), "disclosed")
        ack = join(analyst, exercise_room)
        got = receive_all(analyst)
    finally:
        analyst.disconnect()
    assert ack["ok"] is True
    assert [event for event, _ in got][-2:] == ["exercise.state", "exercise.endex"]
    assert browser.get(f"/api/v1/exercises/{drill.exercise_id}").status_code == 200


def test_ending_a_persons_sessions_closes_their_sockets(served):
    _, server = served
    drill = make_drill()
    cookie = server.cookie(drill.analyst.username)
    sio = socketio.SimpleClient()
    sio.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"])
    assert sio.connected
    with write_transaction():  # logout everywhere, a password change, a disable
        db.session.get(User, drill.analyst.id).rotate_session_nonce()
    deadline = time.monotonic() + WAIT
    while sio.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sio.connected
    # The old cookie no longer opens a socket either.
    again = socketio.SimpleClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"])


def test_control_sees_ground_truth_in_its_room(served):
    app, server = served
    drill = make_drill()
    control = server.client(drill.manager.username)
    try:
        room = journal.control_room(drill.exercise_id)
        assert join(control, room)["ok"]
        begin = utcnow() - timedelta(minutes=2)
        start(drill, begin)
        engine = Engine(app)
        for step in range(0, 30, 10):
            engine.tick(begin + timedelta(seconds=step))
        kinds = [event for event, _ in receive_all(control, quiet=2.0)]
    finally:
        control.disconnect()
    assert "stage.fired" in kinds and "alert.new" in kinds
    exercise = db.session.get(Exercise, drill.exercise_id)
    assert exercise.announced
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Exercise)) == 1
