"""Log generation: mixed noise to NDJSON, text-only lines, and a day of a 50-host org.

Figures are per core (process CPU time, so a busy shared machine does not halve
them; wall-clock rates are printed beside). The reference loop of the research note
(pooled 20-field Sysmon-like dicts, orjson, buffered file) runs in the same process so
the ratio to it is comparable across machines. The whole run stays under a minute;
``SOCDRILL_BENCH_FULL=1`` also generates the full 24 hours instead of projecting.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from simulator.environment import Organisation
from simulator.ndjson import write_ndjson
from simulator.noise import NoiseGenerator
from simulator.sensors import SENSORS, SensorContext

# Monday 2026-03-02, 08:00 UTC: the start of a working morning in Europe.
MONDAY = 1_772_438_400
Report = Callable[[str, float, str, str], None]


def _timed(work: Callable[[], int]) -> tuple[int, float, float]:
    """Run ``work`` and return (items, CPU seconds, wall seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    n = work()
    return n, time.process_time() - cpu, time.perf_counter() - wall


def reference_loop(path: Path, n: int) -> int:
    """The research note's ceiling: pooled 20-field dicts + orjson + buffered write."""
    rng = random.Random(42)
    hosts = [f"WS{i:04d}" for i in range(50)]
    guids = [f"{{{rng.getrandbits(128):032x}}}" for _ in range(1000)]
    newline = orjson.OPT_APPEND_NEWLINE
    with path.open("wb", buffering=1 << 20) as out:
        for _ in range(n):
            record = {
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": hosts[int(rng.random() * 50)],
                "UtcTime": "2024-03-11 09:14:07.412",
                "ProcessGuid": guids[int(rng.random() * 1000)],
                "ProcessId": rng.getrandbits(16),
                "Image": "C:\\Windows\\System32\\svchost.exe",
                "FileVersion": "10.0",
                "Description": "Host Process",
                "Product": "Microsoft Windows",
                "Company": "Microsoft Corporation",
                "OriginalFileName": "svchost.exe",
                "CommandLine": "C:\\Windows\\system32\\svchost.exe -k netsvcs",
                "CurrentDirectory": "C:\\Windows\\system32\\",
                "User": "CORP\\jdoe",
                "LogonGuid": guids[int(rng.random() * 1000)],
                "LogonId": "0x3e7",
                "TerminalSessionId": 0,
                "IntegrityLevel": "System",
                "Hashes": "SHA256=" + "A6DD4FDF681055D6E63856C9CE10E31D" * 2,
            }
            out.write(orjson.dumps(record, option=newline))
    return n


def mixed_stream(
    org: Organisation,
    path: Path,
    start: float,
    seconds: float,
    generator: NoiseGenerator,
) -> int:
    """Noise written the way ``socdrill generate`` writes it: record lines."""
    n = 0
    with path.open("wb", buffering=1 << 20) as out:
        write = out.write
        for _, line in generator.lines(start, start + seconds):
            write(line)
            n += 1
    return n


def mixed_events(
    generator: NoiseGenerator, path: Path, start: float, seconds: float
) -> int:
    """The same through Event objects (the live engine's path)."""
    with path.open("wb", buffering=1 << 20) as out:
        return write_ndjson(generator.window(start, start + seconds), out)


def _serialise(events: list, path: Path) -> int:
    with path.open("wb", buffering=1 << 20) as out:
        return write_ndjson(events, out)


def text_lines(org: Organisation, path: Path, n: int) -> int:
    """Raw lines of the text sensors (auth.log, squid, CEF firewall, combined)."""
    rng = random.Random(3)
    ctx = SensorContext(org, rng)
    linux = org.hosts_where(kind="linux")[0]
    web = org.hosts_where(role="web")[0]
    clients = [h.ip for h in org.hosts]
    sites = org.external_sites
    shapes = [
        (
            SENSORS["linux_auth"],
            "sshd",
            linux,
            [{"action": "accepted", "user": "deploy", "src_ip": ip} for ip in clients],
        ),
        (
            SENSORS["proxy"],
            "access",
            None,
            [
                {
                    "cs-method": "CONNECT",
                    "c-uri": f"{s.domain}:443",
                    "c-ip": ip,
                    "cs-username": "jdoe",
                    "dst_ip": s.ip,
                }
                for s in sites
                for ip in clients[:4]
            ],
        ),
        (
            SENSORS["firewall"],
            "traffic",
            None,
            [
                {"src_ip": ip, "dst_ip": s.ip, "dst_port": 443, "action": "accept"}
                for s in sites
                for ip in clients[:4]
            ],
        ),
        (
            SENSORS["webserver"],
            "access",
            web,
            [{"c-ip": s.ip, "cs-uri": "/index.html"} for s in sites],
        ),
    ]
    ts = float(MONDAY)
    with path.open("wb", buffering=1 << 20) as out:
        write = out.write
        for i in range(n):
            sensor, kind, host, pool = shapes[i & 3]
            ts += 0.003
            event = sensor.event(
                uid="b",
                ts=ts,
                kind=kind,
                host=host,
                values=pool[int(rng.random() * len(pool))],
                ctx=ctx,
            )
            write(event.raw.encode() + b"\n")
    return n


def main(report: Report) -> None:
    org = Organisation.build(7, "medium")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n, cpu, wall = _timed(lambda: reference_loop(folder / "ref.ndjson", 100_000))
        reference = n / cpu
        report(
            "reference loop: pooled Sysmon-like dicts + orjson (1 core)",
            reference,
            "events/s",
            "research note: 223,000",
        )

        # The first minutes of a stream compile its shapes; a day amortises that.
        generator = NoiseGenerator(org, 7)
        start = MONDAY + 3600
        warm, warm_cpu, _ = _timed(
            lambda: mixed_stream(
                org, folder / "warm.ndjson", start - 1800, 1800, generator
            )
        )
        report(
            "mixed noise -> NDJSON, first 30 min (compiling shapes)",
            warm / warm_cpu,
            "events/s",
            "",
        )
        n, cpu, wall = _timed(
            lambda: mixed_stream(org, folder / "mixed.ndjson", start, 1200, generator)
        )
        rate = n / cpu
        size = (folder / "mixed.ndjson").stat().st_size / max(n, 1)
        report(
            "mixed noise -> NDJSON file, 50-host org (1 core)",
            rate,
            "events/s",
            "target >= 100,000 (floor 50,000)",
        )
        report("  same, wall clock", n / wall, "events/s", "")
        report("  average NDJSON record size", size, "bytes", "reference ~770")
        report("  ratio to the reference loop", rate / reference, "x", "")
        n, cpu, wall = _timed(
            lambda: mixed_events(generator, folder / "events.ndjson", start, 600)
        )
        report(
            "  same through Event objects (live engine path)", n / cpu, "events/s", ""
        )
        events = list(generator.window(start + 1200, start + 1500))
        n, cpu, wall = _timed(lambda: _serialise(events, folder / "again.ndjson"))
        report(
            "  NDJSON serialisation alone (pre-made events)",
            n / cpu,
            "events/s",
            "the ceiling for this record size",
        )

        n, cpu, wall = _timed(lambda: text_lines(org, folder / "text.log", 100_000))
        report(
            "text-only sensors (auth.log, squid, CEF, combined)",
            n / cpu,
            "lines/s",
            "target >= 250,000",
        )

        day_start = MONDAY - 8 * 3600  # local midnight, give or take the time zone
        expected = sum(
            generator.expected_per_hour(day_start // 3600 + h) for h in range(24)
        )
        shapes_cost = warm_cpu - warm / rate  # one-off compile time seen above
        projected = expected / rate + max(0.0, shapes_cost)
        report(
            "24 h of a 50-host org: events (expected, weekday)",
            expected,
            "events",
            "5-10 M",
        )
        report(
            "24 h of a 50-host org: projected time (1 core)",
            projected,
            "s",
            "target < 120",
        )
        if os.environ.get("SOCDRILL_BENCH_FULL"):
            full = NoiseGenerator(org, 7)
            n, cpu, wall = _timed(
                lambda: mixed_stream(
                    org, folder / "day.ndjson", day_start, 86_400, full
                )
            )
            report("24 h of a 50-host org: actual time", wall, "s", "target < 120")
            report("24 h of a 50-host org: actual events", n, "events", "")
