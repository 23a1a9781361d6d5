"""Forwarding: RFC 5424 framing, CEF, NDJSON, markers, and the allow-list.

Network tests use real sockets on the loopback interface.
"""

from __future__ import annotations

import re
import socket
import threading

import orjson
import pytest

from siem.forwarders import (
    ExerciseMarker,
    ForwardingError,
    NdjsonForwarder,
    SyslogDestination,
    SyslogForwarder,
    format_cef,
    format_syslog,
)
from simulator.events import Event, parse_iso

MARKER = ExerciseMarker("ex-42", 'Quarterly "red" drill')
T0 = parse_iso("2026-03-01T08:00:00.250Z")

# RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD
SYSLOG = re.compile(
    rb"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    rb"(?P<msgid>\S+) (?P<sd>(?:\[(?:[^\]\\]|\\.)*\])+) (?P<msg>.*)",
    re.DOTALL,
)


def sample(uid: str = "ev-1", **changes) -> Event:
    fields = {
        "EventID": 1,
        "Image": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": "cmd.exe /c echo a=b | more",
        "User": "CORP\\alice",
        "DestinationIp": "198.51.100.7",
    }
    event = Event(
        uid=uid,
        ts=T0,
        sensor="sysmon",
        host="WS-01",
        product="windows",
        category="process_creation",
        service=None,
        fields=fields,
        raw=orjson.dumps(fields).decode(),
    )
    for key, value in changes.items():
        setattr(event, key, value)
    return event


# --- message formats ---------------------------------------------------------------


def test_syslog_message_is_rfc5424_with_the_exercise_marker_first():
    message = format_syslog(sample(), MARKER)
    parsed = SYSLOG.fullmatch(message)
    assert parsed, message
    assert parsed["pri"] == b"134"  # local0.info
    assert parsed["ts"] == b"2026-03-01T08:00:00.250Z"
    assert parsed["host"] == b"WS-01"
    assert parsed["app"] == b"sysmon"
    assert parsed["msgid"] == b"process_creation"
    assert parsed["sd"].startswith(
        b'[exercise@32473 id="ex-42" name="Quarterly \\"red\\" drill" '
        b'marker="EXERCISE"]'
    )
    assert b'[event@32473 uid="ev-1" sensor="sysmon" product="windows"' in parsed["sd"]
    assert parsed["msg"] == b"[EXERCISE] " + sample().raw.encode()


def test_structured_data_values_are_escaped():
    marker = ExerciseMarker('a"b]c\\d')
    sd = SYSLOG.fullmatch(format_syslog(sample(), marker))["sd"]
    assert sd.startswith(b'[exercise@32473 id="a\\"b\\]c\\\\d" marker="EXERCISE"]')


def test_header_fields_are_printable_ascii_or_nil():
    event = sample(host="", sensor="my sensor", category=None)
    parsed = SYSLOG.fullmatch(format_syslog(event, MARKER))
    assert parsed["host"] == b"-"
    assert parsed["app"] == b"mysensor"
    assert parsed["msgid"] == b"-"


def test_untagged_message_keeps_the_raw_line_but_not_the_marker_element():
    parsed = SYSLOG.fullmatch(format_syslog(sample(), MARKER, tag_message=False))
    assert parsed["msg"] == sample().raw.encode()
    assert b"exercise@32473" in parsed["sd"]


def test_bad_facility_or_severity_is_refused():
    with pytest.raises(ForwardingError, match="facility"):
        format_syslog(sample(), MARKER, facility=24)


def test_cef_carries_the_exercise_in_custom_strings():
    cef = format_cef(sample(), MARKER)
    header, _, extension = cef.partition("|rt=")
    assert header == "CEF:0|socdrill|sysmon|1|1|windows process_creation|3"
    assert "cs1Label=exercise cs1=ex-42" in cef
    assert 'cs2Label=exerciseName cs2=Quarterly "red" drill' in cef
    assert "cs3Label=exerciseMarker cs3=EXERCISE" in cef
    assert f"rt={int(T0 * 1000)}" in cef
    assert "dst=198.51.100.7" in cef
    assert "suser=CORP\\\\alice" in cef  # backslash escaped
    assert "cs4=cmd.exe /c echo a\\=b | more" in cef  # '=' escaped, '|' allowed
    assert cef.rstrip().endswith("}")  # msg= is the raw line, last


def test_cef_header_escapes_pipes_and_extension_escapes_newlines():
    event = sample(sensor="a|b", raw="line one\nline=two")
    cef = format_cef(event, MARKER)
    assert cef.startswith("CEF:0|socdrill|a\\|b|")
    assert cef.endswith("msg=line one\\nline\\=two")


def test_cef_payload_in_syslog():
    parsed = SYSLOG.fullmatch(format_syslog(sample(), MARKER, payload="cef"))
    assert parsed["msg"].startswith(b"CEF:0|socdrill|sysmon|")


# --- markers and destinations -------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"id": ""}, "must not be empty"),
        ({"id": "   "}, "must not be empty"),
        ({"id": "x", "marker": ""}, "must not be empty"),
        ({"id": "x\ny"}, "control characters"),
        ({"id": "x" * 129}, "longer than 128"),
    ],
)
def test_bad_markers_are_refused(kwargs, fragment):
    with pytest.raises(ForwardingError, match=fragment):
        ExerciseMarker(**kwargs)


def test_destination_urls_parse_with_explicit_hosts():
    assert SyslogDestination.parse("udp://127.0.0.1:5514") == SyslogDestination(
        "udp", "127.0.0.1", 5514
    )
    assert SyslogDestination.parse("TCP://[::1]:6000").url() == "tcp://[::1]:6000"
    assert SyslogDestination.parse("udp://siem.example.test").port == 514


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("127.0.0.1:514", "scheme"),
        ("http://127.0.0.1:514", "scheme"),
        ("udp://:514", "no host"),
        ("udp://user:pw@127.0.0.1:514", "credentials"),
        ("udp://127.0.0.1:514/path", "only scheme"),
        ("udp://127.0.0.1:99999", "invalid syslog URL"),
        ("udp://127.0.0.1:0", "port 0"),
        ("udp://127.0.0.1:abc", "invalid syslog URL"),
    ],
)
def test_bad_destination_urls_are_refused(url, fragment):
    with pytest.raises(ForwardingError, match=fragment):
        SyslogDestination.parse(url)


def udp_receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.3)
    return sock


def test_a_host_not_on_the_allow_list_is_never_contacted():
    receiver = udp_receiver()
    port = receiver.getsockname()[1]
    with pytest.raises(ForwardingError, match="not allow-listed"):
        SyslogForwarder(
            f"udp://127.0.0.1:{port}", allowed_hosts=["127.0.0.2"], marker=MARKER
        )
    with pytest.raises(ForwardingError, match="allowed: nothing"):
        SyslogForwarder(f"udp://127.0.0.1:{port}", allowed_hosts=[], marker=MARKER)
    with pytest.raises(TimeoutError):
        receiver.recv(65535)
    receiver.close()


def test_allow_list_compares_hosts_canonically():
    forwarder = SyslogForwarder(
        "udp://[0:0:0:0:0:0:0:1]:5514", allowed_hosts=["::1"], marker=MARKER
    )
    assert forwarder.destination.host == "0:0:0:0:0:0:0:1"
    SyslogForwarder(
        "tcp://SIEM.Example.TEST:6514",
        allowed_hosts=["siem.example.test."],
        marker=MARKER,
    )


# --- sending ---------------------------------------------------------------------


def test_udp_sends_one_datagram_per_event():
    receiver = udp_receiver()
    port = receiver.getsockname()[1]
    events = [sample(f"ev-{i}") for i in range(3)]
    with SyslogForwarder(
        f"udp://127.0.0.1:{port}", allowed_hosts=["127.0.0.1"], marker=MARKER
    ) as forwarder:
        assert forwarder.send(events) == 3
    datagrams = [receiver.recv(65535) for _ in range(3)]
    receiver.close()
    assert [SYSLOG.fullmatch(d)["sd"].count(b"exercise@32473") for d in datagrams] == [
        1,
        1,
        1,
    ]
    assert [re.search(rb'uid="([^"]+)"', d)[1] for d in datagrams] == [
        b"ev-0",
        b"ev-1",
        b"ev-2",
    ]


def test_oversized_udp_messages_are_cut_but_keep_the_marker():
    receiver = udp_receiver()
    port = receiver.getsockname()[1]
    big = sample(raw="é" * 40_000)  # 80,000 bytes of UTF-8
    with SyslogForwarder(
        f"udp://127.0.0.1:{port}", allowed_hosts=["127.0.0.1"], marker=MARKER
    ) as forwarder:
        forwarder.send([big])
    datagram = receiver.recv(131072)
    receiver.close()
    assert len(datagram) <= 65_000
    assert b'marker="EXERCISE"' in datagram
    datagram.decode("utf-8")  # cut on a character boundary


def tcp_receiver() -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """A listening socket and a thread that reads one connection until it closes."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)
    chunks: list[bytes] = []

    def accept() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                chunks.append(data)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return server, thread, chunks


def split_octet_counted(stream: bytes) -> list[bytes]:
    frames = []
    while stream:
        length, _, rest = stream.partition(b" ")
        size = int(length)
        frames.append(rest[:size])
        stream = rest[size:]
    return frames


def test_tcp_uses_octet_counting_so_newlines_survive():
    server, reader, chunks = tcp_receiver()
    port = server.getsockname()[1]
    events = [sample("ev-a", raw="two\nlines"), sample("ev-b", raw="ünïcode")]
    with SyslogForwarder(
        f"tcp://127.0.0.1:{port}", allowed_hosts=["127.0.0.1"], marker=MARKER
    ) as forwarder:
        assert forwarder.send(events) == 2
    reader.join(timeout=10)  # the reader ends when the forwarder closes
    server.close()
    frames = split_octet_counted(b"".join(chunks))
    assert [SYSLOG.fullmatch(f)["msg"] for f in frames] == [
        b"[EXERCISE] two\nlines",
        "[EXERCISE] ünïcode".encode(),
    ]


def test_tcp_refused_connection_is_a_clear_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    forwarder = SyslogForwarder(
        f"tcp://127.0.0.1:{port}", allowed_hosts=["127.0.0.1"], marker=MARKER
    )
    with pytest.raises(ForwardingError, match="cannot reach tcp://127.0.0.1"):
        forwarder.send([sample()])


def test_unknown_payload_is_refused():
    with pytest.raises(ForwardingError, match="unknown payload"):
        SyslogForwarder(
            "udp://127.0.0.1:514",
            allowed_hosts=["127.0.0.1"],
            marker=MARKER,
            payload="xml",  # type: ignore[arg-type]
        )


def test_ndjson_records_carry_the_exercise_object(tmp_path):
    path = tmp_path / "out.ndjson"
    forwarder = NdjsonForwarder(path, marker=MARKER)
    assert forwarder.send([sample("ev-1"), sample("ev-2")]) == 2
    assert forwarder.send([sample("ev-3")]) == 1  # appends
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["uid"] for r in records] == ["ev-1", "ev-2", "ev-3"]
    assert records[0]["exercise"] == {
        "id": "ex-42",
        "name": 'Quarterly "red" drill',
        "marker": "EXERCISE",
    }
    assert Event.from_record(records[0]) == sample("ev-1")


def test_ndjson_destination_must_be_a_file_in_an_existing_folder(tmp_path):
    with pytest.raises(ForwardingError, match="does not exist"):
        NdjsonForwarder(tmp_path / "missing" / "out.ndjson", marker=MARKER)
    with pytest.raises(ForwardingError, match="is a folder"):
        NdjsonForwarder(tmp_path, marker=MARKER)
