"""Forwarding into a real rsyslog: what a team's SIEM collector actually receives."""

from __future__ import annotations

import orjson
import pytest

from siem.forwarders import ExerciseMarker, SyslogForwarder
from simulator.events import Event, iso_ms, parse_iso

pytestmark = pytest.mark.integration

MARKER = ExerciseMarker("ex-2026-03", "Ransomware tabletop")
T0 = parse_iso("2026-03-01T08:00:00Z")


def batch(prefix: str, count: int) -> list[Event]:
    events = []
    for i in range(count):
        fields = {
            "EventID": 4625,
            "TargetUserName": f"user{i}",
            "IpAddress": "203.0.113.9",
            "Note": 'quote " and bracket ] survive',
        }
        events.append(
            Event(
                uid=f"{prefix}-{i}",
                ts=T0 + i * 0.5,
                sensor="windows_security",
                host=f"DC-{i % 2:02d}",
                product="windows",
                category=None,
                service="security",
                fields=fields,
                raw=orjson.dumps(fields).decode(),
            )
        )
    return events


def parse_line(line: str) -> dict[str, str]:
    ts, host, app, msgid, sd, msg = line.split("\t", 5)
    return {"ts": ts, "host": host, "app": app, "msgid": msgid, "sd": sd, "msg": msg}


def forward(rsyslog, transport: str, events: list[Event], **options) -> int:
    port = rsyslog.udp_port if transport == "udp" else rsyslog.tcp_port
    with SyslogForwarder(
        f"{transport}://127.0.0.1:{port}",
        allowed_hosts=["127.0.0.1"],
        marker=MARKER,
        **options,
    ) as forwarder:
        return forwarder.send(events)


def test_rsyslog_receives_marked_events_over_udp_and_tcp(rsyslog):
    udp_events, tcp_events = batch("udp", 25), batch("tcp", 25)
    assert forward(rsyslog, "udp", udp_events) == 25
    assert forward(rsyslog, "tcp", tcp_events) == 25

    lines = [parse_line(line) for line in rsyslog.lines(expected=50)]
    assert len(lines) == 50
    by_uid = {}
    for line in lines:
        assert line["sd"].startswith(
            '[exercise@32473 id="ex-2026-03" name="Ransomware tabletop" '
            'marker="EXERCISE"]'
        ), line["sd"]
        uid = line["sd"].split('uid="', 1)[1].split('"', 1)[0]
        by_uid[uid] = line
    expected = {e.uid: e for e in udp_events + tcp_events}
    assert set(by_uid) == set(expected)
    for uid, event in expected.items():
        line = by_uid[uid]
        assert line["host"] == event.host
        assert line["app"] == "windows_security"
        assert line["ts"].startswith(iso_ms(event.ts)[:19])
        assert line["msg"].lstrip() == f"[EXERCISE] {event.raw}"


def test_tcp_framing_keeps_a_multi_line_event_as_one_message(rsyslog):
    event = batch("multi", 1)[0]
    event.raw = "first line\nsecond line"
    forward(rsyslog, "tcp", [event, *batch("after", 1)])
    lines = rsyslog.lines(expected=2)
    assert len(lines) == 2
    first = parse_line(lines[0])
    # rsyslog escapes the control character; the event stays one record.
    assert first["msg"].lstrip() == "[EXERCISE] first line#012second line"
    assert 'uid="after-0"' in parse_line(lines[1])["sd"]


def test_cef_payload_reaches_rsyslog_with_the_exercise_extension(rsyslog):
    forward(rsyslog, "udp", batch("cef", 3), payload="cef")
    lines = [parse_line(line) for line in rsyslog.lines(expected=3)]
    assert len(lines) == 3
    for line in lines:
        message = line["msg"].lstrip()
        assert message.startswith("CEF:0|socdrill|windows_security|1|4625|")
        assert "cs1Label=exercise cs1=ex-2026-03" in message
        assert "cs3Label=exerciseMarker cs3=EXERCISE" in message
        assert 'exercise@32473 id="ex-2026-03"' in line["sd"]


def test_rsyslog_parses_structured_data_with_escaped_characters(rsyslog):
    marker = ExerciseMarker('drill "A" [x] \\ y', name="n]")
    with SyslogForwarder(
        f"udp://127.0.0.1:{rsyslog.udp_port}",
        allowed_hosts=["127.0.0.1"],
        marker=marker,
    ) as forwarder:
        forwarder.send(batch("esc", 1))
    lines = rsyslog.lines(expected=1)
    assert len(lines) == 1
    line = parse_line(lines[0])
    assert line["sd"].startswith(
        '[exercise@32473 id="drill \\"A\\" [x\\] \\\\ y" name="n\\]" marker="EXERCISE"]'
    )
    assert line["msg"].lstrip().startswith('[EXERCISE] {"EventID":4625')
