"""Inputs that exercise every branch of the text sensors' rendering.

Each case is one call of a text sensor (``linux_auth``, ``proxy``, ``firewall``,
``webserver``, ``dns``): defaults, given values, falsy values, characters that need
escaping, extra fields, and times on the edge of a second. ``render_case`` turns a case
into the NDJSON record line of its event (or the error it raises), so the recorded
output in ``text_golden.json`` pins the sensors' output byte for byte while their
code is made faster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path
from typing import Any

from simulator.environment import Organisation
from simulator.ndjson import record_line
from simulator.sensors import SENSORS, SensorContext

GOLDEN = Path(__file__).with_name("text_golden.json")
MONDAY = 1_772_438_400.0
# Whole second, milliseconds, a float that rounds up into the next second, and one
# an accumulating clock produces (not an exact millisecond).
TIMES = (MONDAY, MONDAY + 0.123, MONDAY + 59.9996, MONDAY + 3.0029999999)

Case = tuple[str, str, str | None, dict[str, Any]]


def _auth_cases() -> list[Case]:
    cases: list[Case] = []
    sshd = (
        "accepted",
        "failed",
        "failed_invalid",
        "invalid_user",
        "closed_preauth",
        "disconnected",
        "max_auth",
        "session_opened",
        "session_closed",
    )
    for host in ("linux", "debian"):
        for action in sshd:
            cases.append(("linux_auth", "sshd", host, {"action": action}))
        cases += [
            ("linux_auth", "default", host, {}),
            ("linux_auth", "sshd", host, {"user": "root", "src_ip": "192.0.2.9"}),
            (
                "linux_auth",
                "sshd",
                host,
                {"action": "accepted", "method": "password", "src_port": 50022},
            ),
            (
                "linux_auth",
                "sshd",
                host,
                {"action": "accepted", "pid": 4242, "uid": 0, "user": "ops"},
            ),
            ("linux_auth", "sshd", host, {"action": "", "user": "", "pid": 0}),
            ("linux_auth", "sshd", host, {"action": "failed", "extra": "kept?"}),
            ("linux_auth", "sudo", host, {}),
            (
                "linux_auth",
                "sudo",
                host,
                {"action": "not_in_sudoers", "user": "eve", "tty": "pts/3"},
            ),
            (
                "linux_auth",
                "sudo",
                host,
                {
                    "action": "incorrect_password",
                    "pwd": "/tmp",
                    "run_as": "postgres",
                    "command": "/bin/bash -c 'id; whoami'",
                },
            ),
            ("linux_auth", "sudo", host, {"action": "session_opened", "uid": 1004}),
            ("linux_auth", "sudo", host, {"action": "session_closed"}),
            ("linux_auth", "cron", host, {}),
            ("linux_auth", "cron", host, {"action": "session_opened", "uid": 0}),
            ("linux_auth", "cron", host, {"action": "session_closed", "user": "www"}),
            ("linux_auth", "cron", host, {"command": "/usr/bin/{weird} %s"}),
        ]
    cases += [
        ("linux_auth", "sshd", None, {}),
        ("linux_auth", "telnet", "linux", {}),
        ("linux_auth", "sshd", "linux", {"action": "bogus"}),
    ]
    return cases


def _proxy_cases() -> list[Case]:
    values: list[dict[str, Any]] = [
        {},
        {"cs-method": "CONNECT", "c-uri": "example.com:443", "c-ip": "10.1.1.1"},
        {"cs-method": "get", "c-uri": "http://example.org/a/b.js?x=1&y=2"},
        {"c-uri": "https://user@files.example.net:8443/dl/setup.EXE"},
        {"c-uri": "http://example.org"},
        {"cs-host": "only.example.com"},
        {"cs-host": "only.example.com", "cs-method": "CONNECT"},
        {"cs-method": "CONNECT"},
        {"sc-status": 403, "cs-username": "jdoe", "c-uri": "http://bad.example/"},
        {"sc-status": 407, "x-elapsed-ms": 12},
        {"sc-status": 0, "sc-bytes": 0, "x-elapsed-ms": 0},
        {"sc-bytes": 5, "x-squid-result": "TCP_HIT", "content-type": "text/x"},
        {"c-useragent": 'evil "quoted" agent', "cs-referrer": "http://r.example/"},
        {"c-uri": "http://example.org/", "cs-host": "override.example"},
        {"c-uri": "http://unknown-site.example/x.zip", "extra": 1, "c-ip": ""},
        {"dst_ip": "203.0.113.5", "c-uri": "http://x.example/p.png?q"},
    ]
    return [("proxy", kind, None, v) for kind in ("access",) for v in values] + [
        ("proxy", "default", "fw", {"c-uri": "http://example.org/"}),
        ("proxy", "other", None, {}),
    ]


def _firewall_cases() -> list[Case]:
    values: list[dict[str, Any]] = [
        {},
        {"src_ip": "10.10.1.5", "dst_ip": "192.0.2.80", "dst_port": 443},
        {"src_ip": "198.51.100.7", "dst_ip": "10.10.8.10", "action": "deny"},
        {"src_ip": "198.51.100.7", "dst_ip": "10.10.8.10", "action": "ACCEPT"},
        {"protocol": "udp", "dst_port": 53, "action": "drop", "src_port": 5353},
        {"protocol": "icmp", "bytes_in": 0, "bytes_out": 0},
        {"bytes_in": 10, "bytes_out": 20, "rule": "r=1", "user": "a=b\\c"},
        {"in_interface": "eth9", "out_interface": "", "direction": "sideways"},
        {"src_ip": "not-an-ip", "extra": [1, 2]},
        {"src_ip": "fd00::1", "dst_ip": "2001:db8::1", "protocol": "TCP"},
        {"user": "jdoe", "action": "allow"},
        {"src_ip": "a|b", "dst_ip": "c\nd", "rule": "x\r\ny"},
    ]
    cases: list[Case] = []
    for kind in ("traffic", "netfilter", "default"):
        cases += [("firewall", kind, None, v) for v in values]
    cases += [
        ("firewall", "traffic", "fw", {"dst_ip": "192.0.2.1"}),
        ("firewall", "config", None, {}),
        ("firewall", "config", None, {"rule": "x|y", "dst_ip": "192.0.2.3"}),
        ("firewall", "config", None, {"dst_host": "evil.example", "user": "n=m"}),
        ("firewall", "config", None, {"message": "line\nbreak", "extra": True}),
        ("firewall", "nope", None, {}),
    ]
    return cases


def _web_cases() -> list[Case]:
    values: list[dict[str, Any]] = [
        {},
        {"cs-uri": "/index.php?id=1", "c-ip": "192.0.2.7"},
        {"cs-uri-stem": "/a", "cs-uri-query": "b=c"},
        {"cs-uri": "/x?y", "cs-uri-query": "z"},
        {"cs-uri": "?q=1"},
        {"sc-status": 404},
        {"sc-status": 301, "sc-bytes": 0},
        {"sc-bytes": 0},
        {"cs-method": "post", "cs-version": "HTTP/2.0", "cs-username": "bob"},
        {"cs-referer": 'https://r.example/"x"', "cs-user-agent": "a\\b"},
        {"cs-user-agent": "tab\there\x01", "cs-uri": "/é?ü"},
        {"cs-host": "www.example.org", "extra": None},
    ]
    cases: list[Case] = [("webserver", "access", "web", v) for v in values]
    cases += [("webserver", "default", None, v) for v in values[:3]]
    cases.append(("webserver", "other", None, {}))
    return cases


def _dns_cases() -> list[Case]:
    values: list[dict[str, Any]] = [
        {},
        {"query": "www.example.com.", "record_type": "aaaa", "src_ip": "10.1.2.3"},
        {"query": "x.example", "src_port": 53000, "flags": "+"},
        {"query": "", "record_type": "", "extra": "e"},
    ]
    return [("dns", "query", None, v) for v in values] + [
        ("dns", "default", "fw", {"query": "a.example"}),
        ("dns", "other", None, {}),
    ]


def cases() -> list[Case]:
    """Every case, in a fixed order."""
    return (
        _auth_cases() + _proxy_cases() + _firewall_cases() + _web_cases() + _dns_cases()
    )


def case_org() -> Organisation:
    """The organisation the cases run in (its hosts fill the defaults)."""
    return Organisation.build(11, "small")


def _host(org: Organisation, name: str | None):
    if name is None:
        return None
    if name == "debian":  # the org's Linux hosts are RHEL-family; this one is not
        linux = org.hosts_where(kind="linux")[0]
        return dataclasses.replace(
            linux, name="lnx-deb01", os="Debian GNU/Linux 12 (bookworm)"
        )
    if name == "linux":
        return org.hosts_where(kind="linux")[0]
    if name == "web":
        return org.hosts_where(role="web")[0]
    return org.appliance("firewall")


def render_case(org: Organisation, index: int, case: Case, ts: float) -> str:
    """The record line of the case's event, or ``error: Type: message``."""
    sensor_id, kind, host_name, values = case
    ctx = SensorContext(org, random.Random(index))
    try:
        event = SENSORS[sensor_id].event(
            uid=f"c-{index}",
            ts=ts,
            kind=kind,
            host=_host(org, host_name),
            values=dict(values),
            ctx=ctx,
        )
    except (ValueError, KeyError) as exc:
        return f"error: {type(exc).__name__}: {exc}"
    return record_line(event).decode()


def render_all(org: Organisation) -> list[str]:
    """Every case at every time in :data:`TIMES`, in a fixed order."""
    out = []
    for index, case in enumerate(cases()):
        for ts in TIMES:
            out.append(render_case(org, index, case, ts))
    return out


def digest(line: str) -> str:
    """A short, stable fingerprint of one rendered line (64 bits of SHA-256)."""
    return hashlib.sha256(line.encode()).hexdigest()[:16]


if __name__ == "__main__":  # re-record only when an output change is intended
    GOLDEN.write_text(
        json.dumps([digest(line) for line in render_all(case_org())], indent=0) + "\n",
        encoding="utf-8",
    )
