"""Ingest throughput of the event store (all indexes and full-text).

The embedded SQLite store always; a PostgreSQL store too when
``BENCH_POSTGRES_URL`` names an empty database (``postgresql+psycopg://...``): its
events are deleted again after the run.

Also home of :func:`noise`, the benign stream the SIEM benchmarks share: the
simulator's organisation noise (``simulator.noise.noise_stream``) when it is
available, else :func:`mixed_noise`, a small mixed stream of Sysmon, Windows
Security, Linux auth, proxy, firewall and DNS events shaped like real ones.
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from siem.store import EventStore
from simulator.events import Event

T0 = 1767603600.0  # 2026-01-05 09:00 UTC

_HOSTS = [f"WS-{n:03d}" for n in range(1, 61)] + ["DC-01", "FS-01", "WEB-01"]
_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
_PROCS = [
    (r"C:\Windows\System32\svchost.exe", "svchost.exe -k netsvcs -p -s Schedule"),
    (r"C:\Windows\System32\svchost.exe", "svchost.exe -k LocalService -p"),
    (r"C:\Windows\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        '"chrome.exe" --type=renderer --lang=en-US --field-trial-handle=1',
    ),
    (
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        '"msedge.exe" --type=utility --utility-sub-type=network.mojom',
    ),
    (
        r"C:\Windows\System32\conhost.exe",
        "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff",
    ),
    (r"C:\Windows\System32\taskhostw.exe", "taskhostw.exe Install $(Arg0)"),
    (r"C:\Windows\System32\RuntimeBroker.exe", "RuntimeBroker.exe -Embedding"),
    (
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        '"OUTLOOK.EXE" /recycle',
    ),
    (
        r"C:\Windows\System32\SearchProtocolHost.exe",
        "SearchProtocolHost.exe Global\\UsGthrFltPipeMssGthrPipe",
    ),
    (
        r"C:\Windows\System32\backgroundTaskHost.exe",
        "backgroundTaskHost.exe -ServerName:App.AppX",
    ),
    (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "powershell.exe -File C:\\IT\\inventory.ps1",
    ),
    (r"C:\Windows\System32\cmd.exe", 'cmd.exe /c "C:\\IT\\logon.bat"'),
    (r"C:\Windows\System32\gpupdate.exe", "gpupdate.exe /target:computer"),
]
_DLLS = [
    r"C:\Windows\System32\kernel32.dll",
    r"C:\Windows\System32\ntdll.dll",
    r"C:\Windows\System32\crypt32.dll",
    r"C:\Windows\System32\wininet.dll",
]
_DOMAINS = [
    "intranet.example.com",
    "mail.example.com",
    "updates.example.net",
    "cdn.example.org",
    "login.example.com",
    "files.example.net",
]


def _sysmon(rng: random.Random, host: str, eid: int) -> tuple[str, dict[str, Any]]:
    image, cmd = rng.choice(_PROCS)
    user = f"CORP\\{rng.choice(_USERS)}"
    base: dict[str, Any] = {
        "EventID": eid,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": f"{host.lower()}.corp.example.com",
        "Provider_Name": "Microsoft-Windows-Sysmon",
        "ProcessGuid": f"{{{rng.getrandbits(64):016X}}}",
        "ProcessId": rng.randint(400, 30000),
        "Image": image,
        "User": user,
    }
    if eid == 1:
        parent, parent_cmd = rng.choice(_PROCS)
        base |= {
            "CommandLine": cmd,
            "CurrentDirectory": "C:\\Windows\\system32\\",
            "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
            "Hashes": f"SHA256={rng.getrandbits(256):064X}",
            "ParentImage": parent,
            "ParentCommandLine": parent_cmd,
            "OriginalFileName": image.rsplit("\\", 1)[1].upper(),
        }
        return "process_creation", base
    if eid == 3:
        base |= {
            "Protocol": "tcp",
            "Initiated": "true",
            "SourceIp": f"192.0.2.{rng.randint(2, 250)}",
            "SourcePort": rng.randint(49152, 65535),
            "DestinationIp": f"198.51.100.{rng.randint(2, 250)}",
            "DestinationHostname": rng.choice(_DOMAINS),
            "DestinationPort": rng.choice([443, 443, 80, 445, 389]),
        }
        return "network_connection", base
    if eid == 7:
        base |= {
            "ImageLoaded": rng.choice(_DLLS),
            "Signed": "true",
            "Signature": "Microsoft Windows",
        }
        return "image_load", base
    if eid == 11:
        name = rng.choice(["report.docx", "cache.tmp", "notes.txt", "data.json"])
        base["TargetFilename"] = (
            f"C:\\Users\\{rng.choice(_USERS)}\\AppData\\Local\\Temp\\{name}"
        )
        return "file_event", base
    if eid == 13:
        base |= {
            "EventType": "SetValue",
            "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
            f"Explorer\\RecentDocs\\{rng.randint(1, 50)}",
            "Details": f"DWORD (0x{rng.randint(0, 255):08x})",
        }
        return "registry_set", base
    base |= {
        "QueryName": rng.choice(_DOMAINS),
        "QueryStatus": "0",
        "QueryResults": f"198.51.100.{rng.randint(2, 250)};",
    }
    return "dns_query", base


def _event(rng: random.Random, index: int, ts: float) -> Event:
    host = rng.choice(_HOSTS)
    roll = rng.random()
    uid = f"bench-{index}"
    if roll < 0.45:
        eid = rng.choice([1, 1, 3, 3, 7, 7, 7, 11, 13, 22])
        category, fields = _sysmon(rng, host, eid)
        return Event(
            uid,
            ts,
            "sysmon",
            host,
            "windows",
            category,
            "sysmon",
            fields,
            orjson.dumps(fields).decode(),
        )
    if roll < 0.65:
        eid = rng.choice([4624, 4624, 4634, 4672, 4625, 4688])
        fields = {
            "EventID": eid,
            "Channel": "Security",
            "Computer": f"{host.lower()}.corp.example.com",
            "SubjectUserName": f"{host}$",
            "TargetUserName": rng.choice(_USERS),
            "TargetDomainName": "CORP",
            "LogonType": rng.choice([2, 3, 3, 5, 10]),
            "IpAddress": f"192.0.2.{rng.randint(2, 250)}",
            "WorkstationName": host,
        }
        category = None
        if eid == 4688:
            image, cmd = rng.choice(_PROCS)
            fields |= {"NewProcessName": image, "Image": image, "CommandLine": cmd}
            category = "process_creation"
        return Event(
            uid,
            ts,
            "windows_security",
            host,
            "windows",
            category,
            "security",
            fields,
            orjson.dumps(fields).decode(),
        )
    if roll < 0.75:
        user = rng.choice(_USERS)
        msg = f"Accepted publickey for {user} from 192.0.2.{rng.randint(2, 250)} port {rng.randint(30000, 60000)} ssh2"  # noqa: E501
        fields = {"program": "sshd", "pid": rng.randint(100, 9999), "message": msg}
        return Event(
            uid,
            ts,
            "linux_auth",
            "web-01",
            "linux",
            None,
            "auth",
            fields,
            f"Jan  5 09:00:00 web-01 sshd[{fields['pid']}]: {msg}",
        )
    if roll < 0.85:
        domain = rng.choice(_DOMAINS)
        fields = {
            "c-ip": f"192.0.2.{rng.randint(2, 250)}",
            "cs-method": rng.choice(["GET", "GET", "POST"]),
            "cs-host": domain,
            "c-uri": f"https://{domain}/index.html?id={rng.randint(1, 999)}",
            "sc-status": rng.choice([200, 200, 304, 404]),
            "c-useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0",
        }
        return Event(
            uid,
            ts,
            "proxy",
            "",
            None,
            "proxy",
            None,
            fields,
            orjson.dumps(fields).decode(),
        )
    if roll < 0.95:
        fields = {
            "src_ip": f"192.0.2.{rng.randint(2, 250)}",
            "src_port": rng.randint(1024, 65535),
            "dst_ip": f"198.51.100.{rng.randint(2, 250)}",
            "dst_port": rng.choice([443, 80, 53, 123]),
            "action": rng.choice(["allow", "allow", "allow", "deny"]),
        }
        return Event(
            uid,
            ts,
            "firewall",
            "",
            None,
            "firewall",
            None,
            fields,
            orjson.dumps(fields).decode(),
        )
    fields = {
        "query": rng.choice(_DOMAINS),
        "record_type": "A",
        "answer": "198.51.100.7",
    }
    return Event(
        uid, ts, "dns", "", None, "dns", None, fields, orjson.dumps(fields).decode()
    )


def mixed_noise(count: int, *, seed: int = 7, start: float = T0) -> Iterator[Event]:
    """``count`` benign events, 10 per simulated second, deterministic by ``seed``."""
    rng = random.Random(seed)
    for index in range(count):
        yield _event(rng, index, start + index / 10)


def noise(count: int, *, seed: int = 7) -> tuple[str, list[Event]]:
    """(source name, ``count`` benign events) for the benchmarks."""
    try:
        from simulator.environment import Organisation
        from simulator.noise import noise_stream
    except ImportError:
        return "bench mixed noise", list(mixed_noise(count, seed=seed))
    org = Organisation.build(seed, "small")
    events: list[Event] = []
    start = T0
    while len(events) < count:  # a day at a time until there are enough
        day = noise_stream(org, start=start, hours=24, seed=seed)
        events.extend(itertools.islice(day, count - len(events)))
        start += 86400
    for index, event in enumerate(events):
        event.uid = f"{event.uid}-{index}"  # days generated apart stay unique
    return "simulator noise", events


def scratch_store(folder: str) -> EventStore:
    """A fresh embedded store in ``folder``."""
    return EventStore.open(f"sqlite:///{Path(folder) / 'siem.db'}")


def bench_size() -> int:
    """Events in the large store: 1 M with ``BENCH_FULL=1``, else 200 k."""
    return 1_000_000 if os.environ.get("BENCH_FULL") == "1" else 200_000


def main(report: Callable[..., None]) -> None:
    count = bench_size()
    postgres = os.environ.get("BENCH_POSTGRES_URL")
    for label, events in (
        noise(count),
        ("bench mixed noise", list(mixed_noise(count))),
    ):
        size = sum(len(e.raw) for e in events[:1000]) // 1000
        with tempfile.TemporaryDirectory() as folder:
            store = scratch_store(folder)
            _measure(report, store, events, f"{count:,} {label} (raw ~{size} B)")
            store.close()
        if postgres:
            store = EventStore.open(postgres)
            _measure(report, store, events, f"{count:,} {label}, PostgreSQL")
            with store.begin() as conn:
                conn.exec_driver_sql("DELETE FROM events")
            store.close()


def _measure(
    report: Callable[..., None], store: EventStore, events: list[Event], label: str
) -> None:
    started = time.perf_counter()
    store.insert(events)
    seconds = time.perf_counter() - started
    report(
        f"siem ingest, {label}", len(events) / seconds, "events/s", "target >= 30,000"
    )
    report(
        f"siem store bytes per event, {label}",
        store.size_bytes() / len(events),
        "bytes",
    )
