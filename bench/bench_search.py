"""Search latency over a filled event store (PERFORMANCE.md, "search" rows).

Builds a temporary store of synthetic Windows, Linux and network events (200,000 by
default, 1,000,000 with ``BENCH_FULL=1``; ``BENCH_SEARCH_EVENTS`` overrides), then
times the analyst's three kinds of query, newest 50 first, as ``siem.search`` runs
them: an indexed field, a full-text word, and a leading-wildcard substring.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from siem.search import search
from siem.store import EventStore
from simulator.events import Event, parse_iso

Report = Callable[[str, float, str, str], None]
TENANT = "bench"
RUNS = 25
START = parse_iso("2026-03-02T00:00:00Z")
HOSTS = [f"WS-{i:04d}" for i in range(200)] + [f"SRV-{i:03d}" for i in range(20)]
USERS = [f"CORP\\user{i:03d}" for i in range(300)]
TOOLS = [
    ("C:\\Windows\\System32\\svchost.exe", "svchost.exe -k netsvcs -p"),
    ("C:\\Windows\\explorer.exe", "C:\\Windows\\explorer.exe"),
    ("C:\\Program Files\\Mozilla Firefox\\firefox.exe", "firefox.exe -contentproc"),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -NoProfile -Command Get-Service"),
    ("C:\\Windows\\System32\\cmd.exe", "cmd.exe /c ipconfig /all"),
]  # fmt: skip
ATTACK = (
    "C:\\Users\\Public\\mimikatz.exe",
    'mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit',
)


def _sysmon(rng: random.Random, i: int) -> tuple[dict[str, object], tuple]:
    # 2 % of process starts are the attack: 1 % of all events, as in the reference.
    image, cmd = ATTACK if rng.random() < 0.02 else rng.choice(TOOLS)
    fields = {
        "EventID": 1,
        "Image": image,
        "CommandLine": cmd,
        "User": rng.choice(USERS),
        "ProcessId": rng.randint(100, 9999),
    }
    return fields, ("sysmon", "windows", "process_creation", None)


def _security(rng: random.Random, i: int) -> tuple[dict[str, object], tuple]:
    fields = {
        "EventID": rng.choice((4624, 4624, 4624, 4625, 4672)),
        "TargetUserName": rng.choice(USERS).split("\\")[1],
        "LogonType": rng.choice((2, 3, 10)),
        "IpAddress": f"10.1.{i % 250}.{i % 200}",
    }
    return fields, ("windows_security", "windows", None, "security")


def _linux(rng: random.Random, i: int) -> tuple[dict[str, object], tuple]:
    user = rng.choice(USERS).split("\\")[1]
    fields = {"message": f"Failed password for {user} from 203.0.113.{i % 250} port 22"}
    return fields, ("linux_auth", "linux", None, "auth")


def _firewall(rng: random.Random, i: int) -> tuple[dict[str, object], tuple]:
    fields = {
        "src_ip": f"10.1.{i % 250}.{i % 200}",
        "dst_ip": f"198.51.100.{i % 250}",
        "dst_port": rng.choice((443, 80, 53, 445)),
        "action": "allow",
    }
    return fields, ("firewall", None, "firewall", None)


def synthetic_events(count: int, seed: int = 7) -> Iterator[Event]:
    """A day of mixed events: Sysmon 50 %, Security 30 %, Linux 10 %, firewall 10 %."""
    rng = random.Random(seed)
    step = 86_400 / count
    kinds = [_sysmon] * 5 + [_security] * 3 + [_linux, _firewall]
    for i in range(count):
        fields, (sensor, product, category, service) = rng.choice(kinds)(rng, i)
        yield Event(
            uid=f"b-{i}",
            ts=START + i * step,
            sensor=sensor,
            host=rng.choice(HOSTS),
            product=product,
            category=category,
            service=service,
            fields=fields,
            raw=orjson.dumps(fields).decode(),
        )


def timed(runs: int, call: Callable[[int], object]) -> tuple[float, float]:
    """(p50, p95) in ms of ``call(i)`` over ``runs`` runs, after one warm-up."""
    call(0)
    samples = []
    for i in range(runs):
        began = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(round(0.95 * runs)) - 1)]


def main(report: Report) -> None:
    full = os.environ.get("BENCH_FULL") == "1"
    count = int(os.environ.get("BENCH_SEARCH_EVENTS", 1_000_000 if full else 200_000))
    with tempfile.TemporaryDirectory(prefix="socdrill-bench-") as folder:
        store = EventStore.open(f"sqlite:///{Path(folder) / 'siem.db'}")
        began = time.perf_counter()
        store.insert(synthetic_events(count), tenant=TENANT)
        took = time.perf_counter() - began
        report("search store: events stored", count, "events", "BENCH_FULL=1: 1 M")
        report("search store: ingest rate while building", count / took, "ev/s", "")
        with store.connect() as conn:
            conn.exec_driver_sql("ANALYZE")

        def run(queries: list[str], *, count_total: bool) -> Callable[[int], object]:
            return lambda i: search(
                store, queries[i % len(queries)], tenant=TENANT, limit=50,
                count=count_total,
            )  # fmt: skip

        indexed = ["EventID:4625", "User:corp\\\\user042", "host:WS-0042"]
        words = ["mimikatz", "sekurlsa", "ipconfig", "firefox"]
        wildcard = ["CommandLine:*mimikatz*", "CommandLine:*logonpass*"]
        cases = [
            ("indexed field", indexed, True, "p95 < 50 ms at 5 M"),
            ("full-text word", words, True, "p95 < 50 ms at 5 M"),
            ("leading-wildcard substring", wildcard, False, "p95 < 300 ms at 1 M"),
            ("leading-wildcard substring + total", wildcard, True, "(full scan)"),
        ]
        for label, queries, count_total, target in cases:
            p50, p95 = timed(RUNS, run(queries, count_total=count_total))
            report(f"search {label}, newest 50: p50", p50, "ms", "")
            report(f"search {label}, newest 50: p95", p95, "ms", target)
        store.close()


if __name__ == "__main__":
    from bench import report as print_report

    main(print_report)
