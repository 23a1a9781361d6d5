"""Exercise safety: while a drill runs and players do everything they can (response
actions, customer reports, crisis replies, chat), the process opens no connection
except to the tenant's allow-listed forwarding target, and what it forwards carries
the exercise marker.

Connections are seen through an audit hook (``sys.addaudithook``): every
``socket.connect``, ``socket.sendto`` and ``socket.getaddrinfo`` of the process is
recorded while the probe is on.

Proven elsewhere and referenced in docs/security.md: markers on exports and reports
(tests/web/test_review_exports.py, tests/web/test_incidents_api.py), reserved ranges
over 10,000 samples (tests/unit/test_reserved.py, tests/unit/test_noise.py), the
real-world stop and ENDEX over HTTP and the CLI with Socket.IO off
(tests/web/test_engine_safety.py).
"""

from __future__ import annotations

import socket
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest

from socdrill.engine.forwarding import set_target
from socdrill.engine.ticker import Engine
from socdrill.extensions import db
from socdrill.models import Role, Tenant, utcnow
from tests.security.conftest import build_security_world, security_app
from tests.web.conftest import Browser

AUDITED = frozenset({"socket.connect", "socket.sendto", "socket.getaddrinfo"})


class Egress:
    """Every connection attempt of this process while recording (one hook for the
    whole run: audit hooks cannot be removed)."""

    installed = False
    recording = False
    seen: list[tuple[str, Any]] = []  # noqa: RUF012  (process-wide on purpose)
    lock = threading.Lock()

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if cls.recording and event in AUDITED:
            # getaddrinfo: (host, port, ...); connect and sendto: (socket, address)
            address = args[0] if event == "socket.getaddrinfo" else args[-1]
            with cls.lock:
                cls.seen.append((event, address))

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True


@pytest.fixture
def egress():
    Egress.install()
    Egress.seen.clear()
    Egress.recording = True
    yield Egress
    Egress.recording = False


def hosts_of(seen: list[tuple[str, Any]]) -> set[str]:
    hosts = set()
    for event, address in seen:
        if event == "socket.getaddrinfo":
            hosts.add(str(address))
        elif isinstance(address, tuple) and address:
            hosts.add(str(address[0]))
    return hosts


@pytest.fixture
def forwarded(tmp_path, monkeypatch):
    """A UDP syslog receiver on loopback, allow-listed as tenant A's target."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    port = receiver.getsockname()[1]
    app = security_app(tmp_path, monkeypatch, FORWARD_ALLOWED_HOSTS="127.0.0.1")
    with app.app_context():
        world = build_security_world(app)
        tenant = db.session.get(Tenant, world.ids["acme"]["tenant_id"])
        set_target(
            tenant,
            f"udp://127.0.0.1:{port}",
            payload="raw",
            allowed_hosts=("127.0.0.1",),
        )
        yield app, world, receiver
        db.session.remove()
        db.engine.dispose()
    receiver.close()


def received(receiver: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(receiver.recv(65535))
        except TimeoutError:
            return got


@pytest.mark.slow
def test_a_running_drill_talks_to_nobody_but_its_allow_listed_target(forwarded, egress):
    app, world, receiver = forwarded
    a = world.ids["acme"]
    analyst = world.api(app, Role.ANALYST)
    manager = world.api(app, Role.MANAGER)
    host = world.console.a.hosts[0]
    engine = Engine(app)
    begin = utcnow()
    for minute in range(0, 40, 10):
        engine.tick(begin + timedelta(minutes=minute))
    actions = [
        {"action": "isolate_host", "target": host, "tenant": "acme"},
        {"action": "block_ip", "target": "198.51.100.23", "tenant": "acme"},
        {"action": "block_domain", "target": "evil.example", "tenant": "acme"},
        {"action": "disable_account", "target": "j.doe", "tenant": "acme"},
        {"action": "reset_password", "target": "j.doe", "tenant": "acme"},
    ]
    for body in actions:
        assert analyst.post("/api/v1/responses", body).status_code in (201, 400, 422)
    incident = a["incident_id"]
    analyst.post(
        f"/api/v1/incidents/{incident}/reports",
        {"recipient": "ciso@customer.example", "message": "Contained."},
    )
    analyst.post(f"/api/v1/inbox/{a['delivery_id']}/replies", {"text": "No comment"})
    manager.post(f"/api/v1/exercises/{a['exercise_id']}/hints", {"text": "Look at DC"})
    for minute in range(40, 90, 10):
        engine.tick(begin + timedelta(minutes=minute))
    messages = received(receiver)
    assert messages, "forwarding worked (the probe sees the allowed traffic)"
    assert all(b"exercise" in message.lower() for message in messages)
    assert hosts_of(Egress.seen) <= {"127.0.0.1"}, Egress.seen


def test_the_forwarding_allow_list_refuses_any_other_host(forwarded):
    from socdrill.engine.forwarding import ForwardingSetupError

    app, world, _ = forwarded
    tenant = db.session.get(Tenant, world.ids["acme"]["tenant_id"])
    for url in ("udp://192.0.2.10:514", "tcp://siem.example:6514", "udp://[::1]:514"):
        with pytest.raises(ForwardingSetupError):
            set_target(tenant, url, payload="raw", allowed_hosts=("127.0.0.1",))


def test_the_real_world_stop_works_with_socketio_down(tmp_path, monkeypatch):
    app = security_app(tmp_path, monkeypatch, REALTIME_ENABLED="false")
    with app.app_context():
        world = build_security_world(app)
        analyst = Browser(app.test_client())
        analyst.login(world.usernames[Role.ANALYST])
        pressed = analyst.client.post(
            "/emergency",
            headers={"Accept": "application/json", "X-CSRFToken": analyst.csrf_token()},
        )
        assert pressed.status_code == 200 and pressed.get_json()["ok"] is True
        from socdrill.models import Exercise, ExerciseState

        db.session.expire_all()
        exercise = db.session.get(Exercise, world.ids["acme"]["exercise_id"])
        assert exercise.state == ExerciseState.PAUSED
        other = db.session.get(Exercise, world.ids["globex"]["exercise_id"])
        assert other.state == ExerciseState.RUNNING  # another tenant's drill runs on
        manager = Browser(app.test_client())
        manager.login(world.usernames[Role.MANAGER])
        ended = manager.post_json(f"/exercises/{exercise.id}/endex", {"reason": "real"})
        assert ended.status_code == 200
        db.session.expire_all()
        assert db.session.get(Exercise, exercise.id).state == ExerciseState.ENDED
        db.session.remove()
        db.engine.dispose()
