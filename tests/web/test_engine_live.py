"""Background noise (live tenants and exercises) and forwarding with markers."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from simulator.events import parse_iso
from socdrill.engine.forwarding import ForwardingSetupError, set_target
from socdrill.engine.live import LiveError, start_live, stop_live
from socdrill.engine.ticker import Engine
from socdrill.extensions import db
from socdrill.models import LiveEnvironment, Tenant, utcnow
from tests.web.conftest import make_tenant
from tests.web.test_engine_support import engine_app, make_drill, run, siem_rows, start


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    app = engine_app(
        tmp_path,
        monkeypatch,
        ENGINE_NOISE_SCALE=1.0,
        FORWARD_ALLOWED_HOSTS="127.0.0.1",
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_live_tenant_backfills_its_baseline_then_keeps_up(ctx):
    tenant = make_tenant("livecorp")
    now = utcnow()
    env = start_live(
        tenant,
        baseline_hours=0.25,
        max_baseline_hours=168,
        scale=0.2,
        profile="quiet",
        now=now,
    )
    assert env.noise_until == pytest.approx((now - timedelta(minutes=15)).timestamp())
    engine = Engine(ctx)
    engine.tick(now)
    rows = siem_rows(
        ctx,
        "SELECT min(ts), max(ts), count(*), count(exercise) FROM events "
        "WHERE tenant = 'livecorp'",
    )
    first, last, total, with_exercise = rows[0]
    assert total > 50 and with_exercise == 0  # background, not exercise data
    assert parse_iso(first) >= now.timestamp() - 15 * 60
    assert parse_iso(last) < now.timestamp()
    engine.tick(now + timedelta(minutes=2))
    more = siem_rows(ctx, "SELECT count(*) FROM events WHERE tenant = 'livecorp'")
    assert more[0][0] > total
    again = Engine(ctx)  # a restart continues where the last one stopped
    again.tick(now + timedelta(minutes=2))
    dupes = siem_rows(ctx, "SELECT uid FROM events GROUP BY uid HAVING count(*) > 1")
    assert dupes == []
    assert stop_live(db.session.get(Tenant, tenant.id)) is True
    engine.tick(now + timedelta(minutes=5))
    after = siem_rows(ctx, "SELECT count(*) FROM events WHERE tenant = 'livecorp'")
    assert after == more


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"baseline_hours": 500}, "baseline"),
        ({"baseline_hours": -1}, "baseline"),
        ({"scale": 0}, "scale"),
        ({"scale": 2}, "scale"),
        ({"profile": "party"}, "unknown noise profile"),
    ],
)
def test_a_bad_live_request_is_refused(ctx, options, message):
    tenant = make_tenant("badlive")
    arguments = {"baseline_hours": 1.0, "max_baseline_hours": 168, **options}
    with pytest.raises(LiveError, match=message):
        start_live(tenant, **arguments)
    assert db.session.get(LiveEnvironment, tenant.id) is None


def test_an_exercise_outside_a_live_tenant_brings_its_own_thinned_noise(ctx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=2)
    start(drill, begin)
    run(Engine(ctx), begin, until=20, step=10)
    noise, attack = siem_rows(
        ctx,
        "SELECT sum(e.uid LIKE ?), sum(l.event_id IS NOT NULL) FROM events e "
        "LEFT JOIN labels l ON l.event_id = e.id WHERE e.exercise = ?",
        f"x{drill.exercise_id}-n-%",
        str(drill.exercise_id),
    )[0]
    assert noise > 0 and attack > 0


def test_forwarded_events_carry_the_exercise_marker(ctx):
    drill = make_drill()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    try:
        port = receiver.getsockname()[1]
        tenant = db.session.get(Tenant, drill.tenant_id)
        with pytest.raises(ForwardingSetupError, match="not allow-listed"):
            set_target(
                tenant,
                "udp://198.51.100.7:514",
                payload="raw",
                allowed_hosts=("127.0.0.1",),
            )
        set_target(
            tenant,
            f"udp://127.0.0.1:{port}",
            payload="raw",
            allowed_hosts=("127.0.0.1",),
        )
        begin = utcnow() - timedelta(minutes=2)
        start(drill, begin)
        Engine(ctx).tick(begin + timedelta(seconds=10))
        datagram = receiver.recv(65535).decode()
    finally:
        receiver.close()
    assert f'[exercise@32473 id="{drill.exercise_id}"' in datagram
    assert 'marker="EXERCISE"' in datagram
