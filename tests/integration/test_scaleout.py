"""Scaled mode with real processes: two gunicorn web processes and ``socdrill engine``
on PostgreSQL and Redis.

A manager's real Socket.IO client connects to web process A and gets what the
engine publishes through Redis. A is killed with SIGKILL; the client reconnects to
web process B and is replayed exactly what it missed, by sequence number. The
engine is killed with SIGKILL in mid-drill; a second engine, waiting on the leader
lock, takes over, and no inject fires twice. At the end the client has every
journal event of its rooms exactly once.

The smaller tests check the pieces the big one relies on, against the real Redis:
the publisher's cursor, repeats dropped and gaps filled by a web process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import socketio
import sqlalchemy as sa
from flask import Flask

from socdrill import create_app
from socdrill.database import write_transaction
from socdrill.exercise import journal, lifecycle
from socdrill.exercise.planning import create_draft, snapshot_scenario
from socdrill.extensions import db
from socdrill.models import (
    ExerciseEvent,
    InjectInstance,
    InjectState,
    Role,
    StageOutcomeRecord,
    User,
    utcnow,
)
from socdrill.realtime.message_queue import CHANNEL, JournalPublisher, cursor_key
from tests.conftest import ROOT
from tests.services import free_tcp_port
from tests.web.conftest import (
    FAST_HASH,
    PASSWORD,
    make_team,
    make_tenant,
    make_user,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
WAIT = 60.0
SPEED = 60.0
STAGES = 12
# Twelve stages two scenario minutes apart: one every two seconds at 60x.
SCENARIO = """\
id: scaleout-drill
version: 1
title: Scale-out drill
summary: Quick stages on one workstation, for the multi-process test.
scopes: [windows]
difficulty: easy
duration: 30m
environment:
  needs: {workstations: 2}
  roles:
    victim: {user: {}}
    victim_ws: {host: {kind: workstation, owner: victim}}
stages:
""" + "".join(
    f"""  - id: step-{n}
    at: {2 * n + 1}m
    technique: T1059.001
    tier: P3
    entities: [victim_ws]
    events:
      - sensor: sysmon
        kind: process_creation
        host: "{{{{ victim_ws }}}}"
        fields:
          Image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe'
          CommandLine: 'powershell.exe -nop -c "Get-Date; # step {n}"'
          User: "{{{{ victim.domain_user }}}}"
"""
    for n in range(STAGES)
)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


# --- the platform's processes --------------------------------------------------------


@dataclass
class Platform:
    """Settings shared by every process, and the processes started so far."""

    env: dict[str, str]
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 (our own argument list)
            list(args),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: gunicorn's worker dies with its master.
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def web(self, name: str) -> tuple[subprocess.Popen[bytes], str]:
        """One web process as the deployment guide runs it (one worker, threads)."""
        port = free_tcp_port()
        process = self.spawn(
            name,
            str(BIN / "gunicorn"),
            "-w",
            "1",
            "--threads",
            "50",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        )
        return process, f"http://127.0.0.1:{port}"

    def engine(self, name: str) -> subprocess.Popen[bytes]:
        return self.spawn(name, str(BIN / "socdrill"), "engine")

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def kill(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
        """Signal the process and its children (gunicorn's worker), as a crash
        of the whole web process or engine would end them."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        if signum == signal.SIGKILL:
            process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(process)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def wait_until_serving(process: subprocess.Popen[bytes], url: str, platform) -> None:
    def answers() -> bool:
        assert process.poll() is None, platform.log("web") or "the web process died"
        try:
            return requests.get(f"{url}/login", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still importing
            return False

    wait_for(answers, f"{url} to answer")


def sign_in(url: str, username: str) -> str:
    """Sign in through the login form; returns the Cookie header a browser sends."""
    with requests.Session() as session:
        page = session.get(f"{url}/login", timeout=10).text
        token = CSRF_META.search(page)
        assert token, "the login page carries a CSRF token"
        response = session.post(
            f"{url}/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token[1]},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code in (302, 303), response.status_code
        return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


@pytest.fixture
def platform(tmp_path, postgres_server, postgres_url, redis_url, monkeypatch):
    """Shared settings, the schema made by ``socdrill init``, and an app in this
    process for setting up and inspecting the database."""
    siem_url = postgres_server.create_database(f"siem_{secrets.token_hex(6)}")
    settings = {
        "SOCDRILL_INSTANCE": str(tmp_path / "instance"),
        "SOCDRILL_SECRET_KEY": secrets.token_hex(32),
        "SOCDRILL_DATABASE_URL": postgres_url,
        "SOCDRILL_SIEM_URL": siem_url,
        "SOCDRILL_REDIS_URL": redis_url,
        "SOCDRILL_WEB_PROCESSES": "2",
        "SOCDRILL_ENGINE_MODE": "external",
        "SOCDRILL_ENGINE_TICK_SECONDS": "0.2",
        "SOCDRILL_ENGINE_NOISE_SCALE": "0",
        # Plain HTTP on loopback: the cookie must not require TLS here.
        "SOCDRILL_SESSION_COOKIE_SECURE": "false",
        "SOCDRILL_PASSWORD_HASH_METHOD": FAST_HASH,
    }
    for key in [k for k in os.environ if k.startswith("SOCDRILL_")]:
        monkeypatch.delenv(key)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    env = {k: v for k, v in os.environ.items() if k != "SOCDRILL_FAILPOINT"}
    init = subprocess.run(  # noqa: S603
        [str(BIN / "socdrill"), "init"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    running = Platform(env, tmp_path)
    app = create_app()
    try:
        with app.app_context():
            yield running, app
            db.session.remove()
    finally:
        running.stop_all()
        with app.app_context():
            db.engine.dispose()
        postgres_server.drop_database(siem_url.rsplit("/", 1)[1])


def new_drill() -> tuple[int, int]:
    """A tenant, its team and manager, and a drill of SCENARIO (not started)."""
    tenant = make_tenant("scaleco")
    team = make_team("Scale team", tenant)
    make_user("boss", Role.MANAGER, team=team, can_launch=True)
    boss = db.session.scalar(sa.select(User).where(User.username == "boss"))
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(boss),
            name="Scale-out drill",
            tenant=db.session.merge(tenant),
            team=db.session.merge(team),
            scenario=snapshot_scenario(SCENARIO, source="scaleout", max_bytes=65536),
            seed=4242,
            speed_factor=SPEED,
            max_duration_seconds=3600,
        )
    return exercise.id, tenant.id


def start_drill(exercise_id: int) -> None:
    boss = db.session.scalar(sa.select(User).where(User.username == "boss"))
    now = utcnow()
    lifecycle.schedule(exercise_id, boss, now)
    lifecycle.start(exercise_id, boss, now)


# --- what the client and the queue saw ------------------------------------------------


class Listener:
    """A real Socket.IO client that records ``(room, seq, kind)`` of every event."""

    def __init__(self) -> None:
        self.client = socketio.Client(reconnection=False)
        self.events: list[tuple[str, int, str]] = []
        self.lock = threading.Lock()
        self.client.on("*", self._record)

    def _record(self, event: str, data: Any = None) -> None:
        if isinstance(data, dict) and "seq" in data:
            with self.lock:
                self.events.append((data["room"], data["seq"], event))

    def connect(self, url: str, cookie: str) -> None:
        self.client.connect(url, headers={"Cookie": cookie}, transports=["websocket"])

    def join(self, room: str, last_seq: int) -> dict[str, Any]:
        return self.client.call(
            "join", {"room": room, "last_seq": last_seq}, timeout=WAIT
        )

    def seqs(self, room: str) -> list[int]:
        with self.lock:
            return [seq for r, seq, _ in self.events if r == room]

    def kinds(self, room: str) -> list[str]:
        with self.lock:
            return [kind for r, _, kind in self.events if r == room]


class ChannelTap:
    """Every journal event published on the Redis channel, as ``(room, seq)``."""

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(CHANNEL)
        self.published: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            packet = json.loads(message["data"])
            if packet.get("method") == "emit" and packet.get("data"):
                data = packet["data"][0]
                self.published.append((data["room"], data["seq"]))

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.pubsub.close()
        self.redis.close()


def journal_seqs(room: str) -> list[int]:
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(ExerciseEvent.seq)
            .where(ExerciseEvent.room == room)
            .order_by(ExerciseEvent.seq)
        )
    )


def fired_stages(exercise_id: int) -> int:
    db.session.commit()
    return len(
        db.session.scalars(
            sa.select(InjectInstance.id).where(
                InjectInstance.exercise_id == exercise_id,
                InjectInstance.state == InjectState.FIRED,
            )
        ).all()
    )


# --- the multi-process test -----------------------------------------------------------


def test_two_web_processes_and_a_replaced_engine_deliver_every_event_once(
    platform, redis_url
):
    running, _ = platform
    exercise_id, tenant_id = new_drill()
    rooms = [
        journal.control_room(exercise_id),
        journal.participant_room(exercise_id),
        journal.tenant_room(tenant_id),
    ]
    web_a, url_a = running.web("web-a")
    web_b, url_b = running.web("web-b")
    first_engine = running.engine("engine-1")
    wait_until_serving(web_a, url_a, running)
    wait_until_serving(web_b, url_b, running)
    tap = ChannelTap(redis_url)
    cookie = sign_in(url_a, "boss")
    listener = Listener()
    try:
        listener.connect(url_a, cookie)
        for room in rooms:
            assert listener.join(room, 0)["ok"], room
        wait_for(
            lambda: "publishing live updates" in running.log("engine-1"),
            "the first engine to lead and publish",
        )
        start_drill(exercise_id)

        # Web process A hands on what the engine publishes.
        control = journal.control_room(exercise_id)
        wait_for(
            lambda: listener.kinds(control).count("stage.fired") >= 2,
            "two stages to reach the client through web process A",
        )
        running.kill(web_a)
        wait_for(lambda: not listener.client.connected, "the socket to drop")
        before = {room: list(listener.seqs(room)) for room in rooms}
        assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in before.values())
        seen_stages = listener.kinds(control).count("stage.fired")
        wait_for(
            lambda: fired_stages(exercise_id) >= seen_stages + 2,
            "two more stages while the client is away",
        )

        # The client reconnects to web process B with its last sequence numbers.
        second_engine = running.engine("engine-2")  # waits on the leader lock
        listener = reconnect(listener, url_b, cookie, before)

        # The engine dies in mid-drill; the waiting one takes over.
        wait_for(
            lambda: "waiting for the leader lock" in running.log("engine-2"),
            "the second engine to wait",
        )
        running.kill(first_engine)
        wait_for(
            lambda: "ticking" in running.log("engine-2"), "the second engine to lead"
        )
        wait_for(
            lambda: fired_stages(exercise_id) == STAGES,
            "the second engine to fire the remaining stages",
            timeout=120,
        )
        assert second_engine.poll() is None, running.log("engine-2")

        # Every event of every room reached the client exactly once, in order.
        for room in rooms:
            wait_for(
                lambda room=room: (
                    len(before[room]) + len(listener.seqs(room))
                    >= len(journal_seqs(room))
                ),
                f"the rest of {room}",
            )
        time.sleep(1.0)  # anything delivered twice would arrive by now
        for room in rooms:
            received = before[room] + listener.seqs(room)
            assert received == journal_seqs(room), room
        # ... and the engines published them through Redis, the second one too.
        published = set(tap.published)
        for room in rooms:
            assert {(room, seq) for seq in journal_seqs(room)} <= published, room
    finally:
        listener.client.disconnect()
        tap.close()

    # No inject fired twice, whichever engine fired it.
    fired = Counter(
        payload["inject_key"]
        for payload in db.session.scalars(
            sa.select(ExerciseEvent.payload).where(
                ExerciseEvent.exercise_id == exercise_id,
                ExerciseEvent.kind == "inject.fired",
            )
        )
    )
    assert sorted(fired) == sorted(f"stage:step-{n}" for n in range(STAGES))
    assert set(fired.values()) == {1}
    outcomes = Counter(
        db.session.scalars(
            sa.select(StageOutcomeRecord.stage_id).where(
                StageOutcomeRecord.exercise_id == exercise_id
            )
        )
    )
    assert set(outcomes.values()) == {1} and len(outcomes) == STAGES


def reconnect(
    old: Listener, url: str, cookie: str, before: dict[str, list[int]]
) -> Listener:
    """A new socket on ``url`` that rejoins every room after its last sequence."""
    listener = Listener()
    listener.connect(url, cookie)
    for room, seqs in before.items():
        last = seqs[-1] if seqs else 0
        ack = listener.join(room, last)
        assert ack["ok"], (room, ack)
        missed = list(range(last + 1, ack["seq"] + 1))
        assert ack["replayed"] == len(missed), (room, ack)
        count = len(missed)
        wait_for(
            lambda room=room, count=count: len(listener.seqs(room)) >= count,
            f"the replay of {room}",
        )
        assert listener.seqs(room)[: len(missed)] == missed
    return listener


# --- the pieces, in one process against the real Redis --------------------------------


@pytest.fixture
def pg_app(tmp_path, postgres_url, monkeypatch) -> Iterator[Flask]:
    """An app on a fresh PostgreSQL database (ids can commit out of order there)."""
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "DATABASE_URL": postgres_url,
            "PASSWORD_HASH_METHOD": FAST_HASH,
        }
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def append(room: str, count: int) -> None:
    with write_transaction():
        for n in range(count):
            journal.append_room_event(room, "exercise.note", {"n": n})


def test_a_new_publisher_goes_on_from_the_cursor_the_last_one_saved(
    pg_app, redis_url, monkeypatch
):
    monkeypatch.setattr("socdrill.realtime.message_queue.SETTLE_SECONDS", 0.0)
    tap = ChannelTap(redis_url)
    try:
        first = JournalPublisher(pg_app, redis_url)
        assert first.publish_once() == 0  # starts at the journal's end
        append("team:1", 3)
        assert first.publish_once() == 3
        saved = int(redis.Redis.from_url(redis_url).get(cursor_key()))
        assert saved == db.session.scalar(sa.select(sa.func.max(ExerciseEvent.id)))
        append("team:1", 2)
        # The first publisher dies here; its successor publishes only the new rows.
        second = JournalPublisher(pg_app, redis_url)
        assert second.publish_once() == 2
        wait_for(lambda: len(tap.published) == 5, "five messages on the channel")
        assert tap.published == [("team:1", seq) for seq in range(1, 6)]
    finally:
        tap.close()


def test_a_row_that_commits_after_a_later_one_is_still_published(pg_app, redis_url):
    publisher = JournalPublisher(pg_app, redis_url)
    publisher.publish_once()
    slow = sa.orm.Session(db.engine)
    try:
        # A slow transaction takes the lower id and commits last.
        slow.add(ExerciseEvent(room="team:7", seq=1, kind="exercise.note", payload={}))
        slow.flush()
        append("team:8", 1)
        assert publisher.publish_once() == 1
        slow.commit()
        assert publisher.publish_once() == 1
        assert publisher.publish_once() == 0  # and nothing twice
    finally:
        slow.close()


def test_a_web_process_drops_repeats_and_fills_gaps_from_the_journal(
    tmp_path, redis_url, monkeypatch
):
    from tests.web.test_realtime import Server

    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "REDIS_URL": redis_url,
            "PASSWORD_HASH_METHOD": FAST_HASH,
        }
    )
    with app.app_context():
        db.create_all()
        tenant = make_tenant("relayco")
        team = make_team("Relay team", tenant)
        make_user("relay-analyst", Role.ANALYST, team=team)
        room = journal.team_room(team.id)
        server = Server(app)
        listener = Listener()
        emitter = socketio.RedisManager(redis_url, channel=CHANNEL, write_only=True)
        try:
            listener.connect(server.url, server.cookie("relay-analyst"))
            assert listener.join(room, 0) == {
                "ok": True,
                "room": room,
                "seq": 0,
                "replayed": 0,
            }
            append(room, 3)
            rows = {row.seq: row for row in journal.events_since(room, 0)}

            def publish(seq: int) -> None:
                from socdrill.realtime.relay import event_data

                data = event_data(rows[seq])
                emitter.emit(data["kind"], data, namespace="/", room=room)

            publish(1)
            publish(1)  # a publisher that restarted sends it again
            publish(3)  # 2 was lost on the way
            wait_for(lambda: len(listener.seqs(room)) >= 3, "three events")
            time.sleep(0.5)
            assert listener.seqs(room) == [1, 2, 3]
            # Committed and never published at all: the sweep sends it.
            append(room, 1)
            wait_for(lambda: listener.seqs(room) == [1, 2, 3, 4], "the sweep")
        finally:
            listener.client.disconnect()
            server.close()
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--clients", "0"],
        ["--duration", "5"],
        ["--probe-interval", "0"],
        ["--database-url", "postgresql+psycopg://u:p@db.example.org/x"],
        ["--redis-url", "redis://10.0.0.1:6379/0"],
        ["--embedded", "--redis-url", "redis://127.0.0.1:6379/0"],
    ],
)
def test_the_load_test_refuses_bad_options_before_starting_anything(arguments, capsys):
    from bench.loadtest import parse_args

    with pytest.raises(SystemExit) as refused:
        parse_args(arguments)
    assert refused.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_the_load_test_defaults_to_200_clients_scaled_and_50_embedded():
    from bench.loadtest import parse_args

    assert parse_args([]).clients == 200
    assert parse_args(["--embedded"]).clients == 50
    assert parse_args(["--redis-url", "redis://:pw@127.0.0.1:6379/0"]).redis_url
