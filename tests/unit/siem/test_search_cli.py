"""``socdrill siem``: ingest, search, stats and forward from the command line."""

from __future__ import annotations

import socket

import orjson
import pytest
from click.testing import CliRunner

from siem.store import EventStore
from simulator.events import Event, Label, dumps, parse_iso
from socdrill.commands.siem import default_siem_url, siem

T0 = parse_iso("2026-03-01T08:00:00Z")


def make_events(count: int = 6) -> list[Event]:
    events = []
    for i in range(count):
        fields = {
            "EventID": 4625 if i % 2 else 4624,
            "TargetUserName": f"user{i}",
            "CommandLine": "whoami /all" if i == 0 else f"task{i}.exe",
        }
        events.append(
            Event(
                uid=f"ev-{i}",
                ts=T0 + 60 * i,
                sensor="windows_security" if i % 3 else "sysmon",
                host=f"WS-{i % 2:02d}",
                product="windows",
                category=None,
                service="security",
                fields=fields,
                raw=orjson.dumps(fields).decode(),
            )
        )
    return events


@pytest.fixture
def files(tmp_path):
    events = tmp_path / "events.ndjson"
    events.write_bytes(b"".join(dumps(e.to_record()) + b"\n" for e in make_events()))
    truth = tmp_path / "truth.ndjson"
    truth.write_bytes(dumps(Label("ev-0", "demo", "discovery", "T1033").to_record()))
    return events, truth


@pytest.fixture
def url(store_url, monkeypatch):
    """The store of the backend under test, also the default of every command."""
    monkeypatch.setenv("SOCDRILL_SIEM_URL", store_url)
    return store_url


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch):
    """An embedded store as the default of every command.

    ``siem detect`` loads its rules as SQLite fragments whatever the store, so its
    tests run on the embedded store only.
    """
    url = f"sqlite:///{tmp_path / 'siem.db'}"
    monkeypatch.setenv("SOCDRILL_SIEM_URL", url)
    return url


def run(*args: str):
    return CliRunner().invoke(siem, list(args), catch_exceptions=False)


def count(url: str) -> tuple[int, int]:
    store = EventStore.open(url)
    with store.connect() as conn:
        events = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
        labels = conn.exec_driver_sql("SELECT count(*) FROM labels").scalar()
    store.close()
    return events, labels


# --- store location ------------------------------------------------------------------


def test_default_store_is_the_environment_url_else_the_instance_folder(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("SOCDRILL_SIEM_URL", raising=False)
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "inst"))
    assert default_siem_url() == f"sqlite:///{tmp_path / 'inst' / 'siem.db'}"
    monkeypatch.setenv("SOCDRILL_SIEM_URL", "sqlite:///elsewhere.db")
    assert default_siem_url() == "sqlite:///elsewhere.db"


def test_ingest_creates_the_default_instance_folder(files, tmp_path, monkeypatch):
    monkeypatch.delenv("SOCDRILL_SIEM_URL", raising=False)
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "new-instance"))
    result = run("ingest", str(files[0]))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new-instance" / "siem.db").exists()


def test_explicit_store_in_a_missing_folder_is_an_error(files, tmp_path):
    result = run("ingest", str(files[0]), "--siem", f"sqlite:///{tmp_path}/no/s.db")
    assert result.exit_code == 1
    assert "folder does not exist" in result.output


# --- ingest --------------------------------------------------------------------------


def test_ingest_stores_events_and_labels_apart(files, url):
    result = run("ingest", str(files[0]), "--truth", str(files[1]), "--tenant", "blue")
    assert result.exit_code == 0, result.output
    assert "stored 6 events (ids 1-6), 1 ground-truth labels" in result.output
    assert count(url) == (6, 1)
    again = run("ingest", str(files[0]), "--tenant", "blue")
    assert "stored 0 events, skipped 6 already stored" in again.output
    assert count(url) == (6, 1)


def test_ingest_refuses_duplicates_when_asked_and_stores_nothing(files, url):
    run("ingest", str(files[0]))
    result = run("ingest", str(files[0]), "--on-duplicate", "error")
    assert result.exit_code == 1
    assert "6 event(s)" in result.output and "already stored" in result.output
    assert count(url) == (6, 0)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"{not json", "not a JSON event record"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"uid": "x"}', "lacks the 'ts' key"),
        (
            b'{"uid":"x","ts":"yesterday","sensor":"s","fields":{},"raw":""}',
            "bad event record",
        ),
        (b'{"uid":"x","ts":5,"sensor":"s","fields":{},"raw":""}', "bad event record"),
        (
            b'{"uid":"x","ts":"2026-03-01T08:00:00Z","sensor":"s","fields":7,"raw":""}',
            "bad event record",
        ),
    ],
)
def test_a_malformed_line_names_its_number_and_stores_nothing(
    files, url, line, fragment
):
    content = files[0].read_bytes().splitlines()
    content.insert(3, line)
    files[0].write_bytes(b"\n".join(content) + b"\n")
    result = run("ingest", str(files[0]))
    assert result.exit_code == 1
    assert f"{files[0]}:4:" in result.output and fragment in result.output
    assert count(url) == (0, 0)


def test_repeated_uid_in_one_file_is_refused_in_error_mode(files, url):
    first = files[0].read_bytes().splitlines()[0]
    files[0].write_bytes(files[0].read_bytes() + first + b"\n")
    result = run("ingest", str(files[0]), "--on-duplicate", "error")
    assert result.exit_code == 1 and ":7: uid 'ev-0' appears twice" in result.output
    assert count(url) == (0, 0)


@pytest.mark.parametrize(
    ("label", "fragment"),
    [
        (b'{"uid": "ev-0"}', "lacks the 'scenario' key"),
        (
            b'{"uid":"ghost","scenario":"s","stage":"s","technique":"T1"}',
            "neither in",
        ),
        (
            b'{"uid":"ev-0","scenario":"s","stage":"s","technique":"T1",'
            b'"malicious":"yes"}',
            "must be true or false",
        ),
    ],
)
def test_bad_labels_stop_the_ingest_before_anything_is_stored(
    files, url, label, fragment
):
    files[1].write_bytes(label + b"\n")
    result = run("ingest", str(files[0]), "--truth", str(files[1]))
    assert result.exit_code == 1 and fragment in result.output
    assert count(url) == (0, 0)


# --- search and stats ----------------------------------------------------------------


def test_search_prints_newest_first_and_a_summary(files, url):
    run("ingest", str(files[0]), "--tenant", "blue")
    result = CliRunner().invoke(
        siem, ["search", "EventID:4625", "--tenant", "blue", "--limit", "2"]
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "2026-03-01T08:05:00.000Z",
        "2026-03-01T08:03:00.000Z",
    ]
    assert "2 of 3 events" in result.stderr


def test_search_json_output_and_time_window(files, url):
    run("ingest", str(files[0]))
    result = CliRunner().invoke(
        siem,
        ["search", "*", "--json", "--from", "2026-03-01T08:01:00Z", "--to",
         "2026-03-01T08:03:00Z"],
    )  # fmt: skip
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["uid"] for r in records] == ["ev-2", "ev-1"]


def test_search_is_scoped_to_the_tenant(files, url):
    run("ingest", str(files[0]), "--tenant", "blue")
    result = CliRunner().invoke(siem, ["search", "*"])
    assert result.stdout == "" and "0 of 0 events" in result.stderr


def test_search_errors_point_at_the_problem(files, url):
    run("ingest", str(files[0]))
    result = run("search", "EventID:[1 TO x]")
    assert result.exit_code == 1
    assert "not a number" in result.output
    assert "  EventID:[1 TO x]\n" + " " * 16 + "^" in result.output


def test_search_rejects_a_bad_time(files, url):
    run("ingest", str(files[0]))
    result = run("search", "*", "--from", "soon")
    assert result.exit_code == 1 and "start time 'soon'" in result.output


def test_stats_reports_counts_bounds_size_and_sensors(files, url):
    run("ingest", str(files[0]), "--tenant", "blue")
    result = run("stats", "--json")
    stats = orjson.loads(result.output)
    assert stats["events"] == 6
    assert stats["oldest"] == "2026-03-01T08:00:00.000Z"
    assert stats["newest"] == "2026-03-01T08:05:00.000Z"
    assert stats["size_bytes"] > 0
    assert stats["sensors"] == {"windows_security": 4, "sysmon": 2}
    assert stats["tenants"] == {"blue": 6}
    text = run("stats").output
    assert "events      6" in text and "windows_security" in text


# --- forward -------------------------------------------------------------------------


def test_forward_to_ndjson_marks_every_record(files, url, tmp_path):
    run("ingest", str(files[0]))
    out = tmp_path / "export.ndjson"
    result = run(
        "forward", "--ndjson", str(out), "--exercise", "drill-9",
        "--exercise-name", "Spring drill", "--query", "EventID:4624",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "forwarded 3 events" in result.output
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["uid"] for r in records] == ["ev-0", "ev-2", "ev-4"]
    assert all(
        r["exercise"] == {"id": "drill-9", "name": "Spring drill", "marker": "EXERCISE"}
        for r in records
    )


def test_forward_over_udp_to_loopback(files, url):
    run("ingest", str(files[0]))
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2)
    port = receiver.getsockname()[1]
    result = run(
        "forward", "--syslog", f"udp://127.0.0.1:{port}", "--exercise", "drill-9",
        "--cef",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    messages = [receiver.recv(65535) for _ in range(6)]
    receiver.close()
    assert all(
        b'[exercise@32473 id="drill-9" marker="EXERCISE"]' in m for m in messages
    )
    assert all(b"CEF:0|socdrill|" in m for m in messages)


def test_forward_refuses_hosts_that_are_not_allow_listed(files, url, monkeypatch):
    run("ingest", str(files[0]))
    result = run("forward", "--syslog", "tcp://192.0.2.10:514", "--exercise", "x")
    assert result.exit_code == 1 and "not allow-listed" in result.output
    monkeypatch.setenv("SOCDRILL_FORWARD_ALLOW", "192.0.2.11, 192.0.2.12")
    result = run("forward", "--syslog", "tcp://192.0.2.10:514", "--exercise", "x")
    assert "not allow-listed" in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--exercise", "x"], "exactly one destination"),
        (
            ["--ndjson", "a", "--syslog", "udp://127.0.0.1:1", "--exercise", "x"],
            "exactly",
        ),
        (["--syslog", "udp://127.0.0.1:1"], "Missing option '--exercise'"),
        (["--syslog", "ftp://127.0.0.1", "--exercise", "x"], "scheme"),
        (["--syslog", "udp://127.0.0.1:1", "--exercise", " "], "must not be empty"),
        (["--ndjson", "out.ndjson", "--exercise", "x", "--query", "a:("], "ends too"),
    ],
)
def test_forward_bad_options_are_clear_errors(
    files, url, tmp_path, monkeypatch, args, fragment
):
    run("ingest", str(files[0]))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(siem, ["forward", *args])
    assert result.exit_code != 0
    assert fragment in result.output


# --- detect --------------------------------------------------------------------------

WHOAMI_RULE = """\
title: Whoami discovery
id: 5f7c5d1e-2a44-4bb7-9a57-0c6e2f1d1a01
status: test
level: medium
logsource:
    product: windows
    service: security
detection:
    selection:
        CommandLine|contains: whoami
    condition: selection
tags:
    - attack.discovery
    - attack.t1033
"""


def test_detect_runs_rules_once_over_new_events(files, sqlite_url, tmp_path):
    rule = tmp_path / "whoami.yml"
    rule.write_text(WHOAMI_RULE)
    run("ingest", str(files[0]))
    first = run("detect", "--rules", str(rule))
    assert first.exit_code == 0, first.output
    assert "examined 6 events" in first.output and "1 matches" in first.output
    again = run("detect", "--rules", str(rule))
    assert "examined 0 events" in again.output


def test_detect_with_the_bundled_pack(files, sqlite_url):
    run("ingest", str(files[0]))
    result = CliRunner().invoke(siem, ["detect"])
    assert result.exit_code == 0, result.output
    assert "examined 6 events" in result.stdout


def test_detect_without_usable_rules_is_an_error(files, sqlite_url, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("title: [unclosed\n")
    result = run("detect", "--rules", str(broken))
    assert result.exit_code == 1
    assert "no usable rules" in result.output
