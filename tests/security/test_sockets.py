"""Socket.IO: every event classified, connect authenticated, same origin only, each
room joined only by the roles that may, no score or ground truth in what an analyst
receives, and sockets closed when a person's access ends.

Against a real threaded server on 127.0.0.1 with the real Socket.IO client, like a
browser: sign in through the form, connect with the session cookie.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import socketio
from flask import Flask

from socdrill.database import write_transaction
from socdrill.engine.ticker import Engine
from socdrill.extensions import db
from socdrill.extensions import socketio as server_socketio
from socdrill.models import Job, Role, User, utcnow
from tests.security.conftest import SecurityWorld, build_security_world, security_app
from tests.web.conftest import make_user
from tests.web.test_realtime import WAIT, Server, receive_all

# The socket events the server handles, and who may use them. A handler that is not
# listed here fails test_every_socket_event_is_classified.
SOCKET_EVENTS = {
    "connect": "any signed-in, active person with a same-origin page",
    "disconnect": "the socket's own end",
    "join": "authorised per room from the database (room_access below)",
    "leave": "the socket's own rooms only",
}
WATCHERS = {Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST, Role.OBSERVER}
# Keys an analyst must never receive (SCORING.md: scores reach the person, their
# lead and HR through the review pages only).
SCORE_KEYS = re.compile(r"score|cohesion|skill|theta|hr_|stage|ground_truth", re.I)
DISABLE_WITHIN_SECONDS = 5.0


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[Flask, SecurityWorld, Server]]:
    monkeypatch = pytest.MonkeyPatch()
    app = security_app(tmp_path_factory.mktemp("sockets"), monkeypatch)
    with app.app_context():
        world = build_security_world(app)
        db.session.commit()
        server = Server(app)
        yield app, world, server
        server.close()
        db.session.remove()
        db.engine.dispose()
    monkeypatch.undo()


def room_access(world: SecurityWorld) -> dict[str, set[Role]]:
    """Room → the roles of tenant A that may join it."""
    a, b = world.ids["acme"], world.ids["globex"]
    return {
        f"tenant:{a['tenant_id']}": WATCHERS,
        f"tenant:{b['tenant_id']}": {Role.ADMIN},
        f"team:{a['team_id']}": set(Role),  # all six belong to team A
        f"team:{a['team2_id']}": {Role.ADMIN},
        f"team:{b['team_id']}": {Role.ADMIN},
        f"exercise:{a['exercise_id']}": WATCHERS,
        f"exercise:{b['exercise_id']}": {Role.ADMIN},
        f"exercise:{a['exercise_id']}:control": {Role.ADMIN, Role.MANAGER},
        f"exercise:{b['exercise_id']}:control": {Role.ADMIN},
        f"user:{b['user_id']}": set(),
        f"tenant:{a['tenant_id']}:control": set(),
        "exercise:0": set(),
        "everyone": set(),
    }


def join(sio: Any, room: str) -> dict[str, Any]:
    return sio.call("join", {"room": room, "last_seq": 0}, timeout=WAIT)


def test_every_socket_event_is_classified(live):
    handlers = set(server_socketio.server.handlers.get("/", {}))
    assert {"connect", "join"} <= handlers
    assert handlers - set(SOCKET_EVENTS) == set(), "classify the new socket events"


def test_an_anonymous_socket_is_refused(live):
    _, _, server = live
    with pytest.raises(socketio.exceptions.ConnectionError):
        server.client(None)


def test_a_socket_from_another_origin_is_refused(live):
    _, world, server = live
    cookie = server.cookie(world.usernames[Role.ANALYST])
    for origin in ("https://evil.example", "null", server.url + ".evil.example"):
        sio = socketio.SimpleClient()
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(
                server.url,
                headers={"Cookie": cookie, "Origin": origin},
                transports=["polling"],
            )
    same = socketio.SimpleClient()  # the control: the page's own origin connects
    same.connect(
        server.url,
        headers={"Cookie": cookie, "Origin": server.url},
        transports=["polling"],
    )
    assert same.connected
    same.disconnect()


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_joins_exactly_the_rooms_it_may(live, role):
    _, world, server = live
    sio = server.client(world.usernames[role])
    try:
        me = db.session.scalar(
            db.select(User.id).where(User.username == world.usernames[role])
        )
        assert join(sio, f"user:{me}")["ok"] is True
        for room, roles in room_access(world).items():
            ack = join(sio, room)
            if role in roles:
                assert ack["ok"] is True, (role, room, ack)
            else:
                assert ack == {"ok": False, "error": "no such room"}, (role, room)
    finally:
        sio.disconnect()


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def test_an_analyst_receives_no_scores_no_ground_truth_and_nothing_foreign(live):
    app, world, server = live
    analyst = server.client(world.usernames[Role.ANALYST])
    control = server.client(world.usernames[Role.MANAGER])
    try:
        for room, roles in room_access(world).items():
            if Role.ANALYST in roles:
                assert join(analyst, room)["ok"]
        a = world.ids["acme"]
        assert join(control, f"exercise:{a['exercise_id']}:control")["ok"]
        engine = Engine(app)
        begin = utcnow()
        for step in range(0, 120, 20):  # stages fall due at 1x over two minutes
            engine.tick(begin + timedelta(minutes=step))
        got = receive_all(analyst, quiet=2.0)
        ground_truth = receive_all(control, quiet=0.5)
    finally:
        analyst.disconnect()
        control.disconnect()
    assert ground_truth, "the engine produced control events (the probe works)"
    allowed_rooms = {
        r for r, roles in room_access(world).items() if Role.ANALYST in roles
    }
    for event, data in got:
        assert data["room"] in allowed_rooms, (event, data["room"])
        assert not event.startswith("stage."), event
        leaked = {k for k in keys_of(data.get("payload")) if SCORE_KEYS.search(k)}
        assert not leaked, (event, leaked)
        assert "GLOBEX-ONLY" not in str(data)


def wait_disconnected(sio: Any, seconds: float) -> float:
    started = time.monotonic()
    while sio.connected and time.monotonic() - started < seconds:
        time.sleep(0.1)
    return time.monotonic() - started


def test_disabling_a_person_closes_their_socket_and_kills_their_token(live):
    app, world, server = live
    team = world.console.a.team_id
    from socdrill.models import Team

    make_user(
        "acme-leaver",
        Role.ANALYST,
        team=db.session.get(Team, team),
        job=Job.L1_MONITORING,
    )
    sio = server.client("acme-leaver")
    from tests.web.conftest import Browser

    admin = Browser(app.test_client())
    admin.login(world.usernames[Role.ADMIN])
    owner = Browser(app.test_client())
    owner.login("acme-leaver")
    page = owner.post("/account/tokens", {"name": "laptop"}).get_data(as_text=True)
    secret = re.search(r"sdt_[A-Za-z0-9_\-]+", page).group(0)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    leaver = db.session.scalar(db.select(User.id).where(User.username == "acme-leaver"))
    assert admin.post(f"/admin/users/{leaver}", {"active": "false"}).status_code == 303
    took = wait_disconnected(sio, DISABLE_WITHIN_SECONDS + 1)
    assert not sio.connected and took <= DISABLE_WITHIN_SECONDS, took
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    assert owner.get("/dashboard").status_code == 302


def test_a_demoted_manager_stops_receiving_ground_truth(live):
    app, world, server = live
    from socdrill.models import Team

    team = db.session.get(Team, world.console.a.team_id)
    make_user("acme-demoted", Role.MANAGER, team=team)
    sio = server.client("acme-demoted")
    a = world.ids["acme"]
    assert join(sio, f"exercise:{a['exercise_id']}:control")["ok"]
    from tests.web.conftest import Browser

    admin = Browser(app.test_client())
    admin.login(world.usernames[Role.ADMIN])
    demoted = db.session.scalar(
        db.select(User.id).where(User.username == "acme-demoted")
    )
    assert admin.post(f"/admin/users/{demoted}", {"role": "analyst"}).status_code == 303
    took = wait_disconnected(sio, DISABLE_WITHIN_SECONDS + 1)
    still = sio.connected
    if still:
        sio.disconnect()
    assert not still and took <= DISABLE_WITHIN_SECONDS, (
        "a socket keeps the rooms its old role allowed"
    )


def test_leaving_the_team_closes_the_rooms_of_its_tenant(live):
    app, world, server = live
    from socdrill.models import Membership, Team

    team = db.session.get(Team, world.console.a.team_id)
    make_user("acme-mover", Role.ANALYST, team=team, job=Job.L1_MONITORING)
    sio = server.client("acme-mover")
    a = world.ids["acme"]
    assert join(sio, f"tenant:{a['tenant_id']}")["ok"]
    mover = db.session.scalar(db.select(User.id).where(User.username == "acme-mover"))
    membership = db.session.scalar(
        db.select(Membership.id).where(Membership.user_id == mover)
    )
    from tests.web.conftest import Browser

    admin = Browser(app.test_client())
    admin.login(world.usernames[Role.ADMIN])
    assert admin.post(f"/admin/memberships/{membership}/end").status_code == 303
    took = wait_disconnected(sio, DISABLE_WITHIN_SECONDS + 1)
    still = sio.connected
    if still:
        sio.disconnect()
    assert not still and took <= DISABLE_WITHIN_SECONDS, (
        "a socket keeps the rooms of a tenant its owner no longer monitors"
    )
    with write_transaction():
        pass
