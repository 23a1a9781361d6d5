"""Importers: EVTX, EVTX-as-JSON and NDJSON into the store, and the import command."""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner

from siem.importers import LogImportError, import_file, read_events
from simulator.events import Event
from socdrill.commands.importing import import_command
from tests.conftest import REALWORLD

PAIRS = REALWORLD / "sigma-regression"
CHCP = PAIRS / "proc_creation_win_chcp_codepage_lookup"


def windows(event_id: int, channel: str, data: dict, record: int = 1) -> dict:
    return {
        "Event": {
            "#attributes": {
                "xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"
            },
            "System": {
                "Provider": {"#attributes": {"Name": "Prov", "Guid": "{1}"}},
                "EventID": event_id,
                "TimeCreated": {
                    "#attributes": {"SystemTime": "2026-03-01T08:00:00.5Z"}
                },
                "EventRecordID": record,
                "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 8}},
                "Channel": channel,
                "Computer": "ws-01.corp.example.com",
            },
            "EventData": data,
        }
    }


SYSMON = "Microsoft-Windows-Sysmon/Operational"


def test_evtx_and_its_json_export_give_the_same_events():
    from_evtx = list(read_events(CHCP / "events.evtx"))
    from_json = list(read_events(CHCP / "events.json"))
    assert [e.uid for e in from_evtx] == [e.uid for e in from_json]
    assert [e.fields for e in from_evtx] == [e.fields for e in from_json]
    first = from_evtx[0]
    assert (first.product, first.category, first.service) == (
        "windows",
        "process_creation",
        "sysmon",
    )
    assert first.fields["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert first.fields["EventID"] == 1
    assert first.host == first.fields["Computer"]


def test_surrounding_whitespace_is_removed_inside_is_kept(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(windows(1, SYSMON, {"CommandLine": "cmd  /c chcp  "})))
    (event,) = read_events(path)
    assert event.fields["CommandLine"] == "cmd  /c chcp"


def test_event_data_names_lose_their_spaces(tmp_path):
    path = tmp_path / "defender.json"
    channel = "Microsoft-Windows-Windows Defender/Operational"
    path.write_text(json.dumps(windows(1119, channel, {"Threat Name": "EICAR"})))
    (event,) = read_events(path)
    assert event.fields["ThreatName"] == "EICAR"
    assert event.service == "windefend"


def test_security_4688_is_also_a_process_creation_with_image(tmp_path):
    data = {"NewProcessName": r"C:\w\whoami.exe", "ParentProcessName": r"C:\w\cmd.exe"}
    path = tmp_path / "sec.json"
    path.write_text(json.dumps(windows(4688, "Security", data)))
    (event,) = read_events(path)
    assert (event.category, event.service, event.sensor) == (
        "process_creation",
        "security",
        "windows_security",
    )
    assert event.fields["Image"] == r"C:\w\whoami.exe"
    assert event.fields["ParentImage"] == r"C:\w\cmd.exe"


@pytest.mark.parametrize(
    "channel, event_id, data, expected",
    [
        (SYSMON, 3, {}, ("network_connection", "sysmon")),
        (SYSMON, 12, {"EventType": "DeleteKey"}, ("registry_delete", "sysmon")),
        (SYSMON, 12, {"EventType": "CreateKey"}, ("registry_add", "sysmon")),
        (SYSMON, 13, {}, ("registry_set", "sysmon")),
        (SYSMON, 22, {}, ("dns_query", "sysmon")),
        (SYSMON, 26, {}, ("file_delete", "sysmon")),
        (
            "Microsoft-Windows-PowerShell/Operational",
            4104,
            {},
            ("ps_script", "powershell"),
        ),
        ("Windows PowerShell", 400, {}, ("ps_classic_start", "powershell-classic")),
        ("Security", 4624, {}, (None, "security")),
        ("Some-Unknown/Channel", 7, {}, (None, None)),
    ],
)
def test_windows_channels_and_ids_map_to_sigma_logsources(
    tmp_path, channel, event_id, data, expected
):
    path = tmp_path / "e.json"
    path.write_text(json.dumps(windows(event_id, channel, data)))
    (event,) = read_events(path)
    assert (event.category, event.service) == expected


def test_concatenated_and_line_delimited_json_read_alike(tmp_path):
    objects = [
        windows(1, SYSMON, {"Image": "a"}, 1),
        windows(1, SYSMON, {"Image": "b"}, 2),
    ]
    pretty = tmp_path / "pretty.json"
    pretty.write_text("\n".join(json.dumps(o, indent=2) for o in objects))
    lines = tmp_path / "lines.ndjson"
    lines.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    assert [e.fields for e in read_events(pretty)] == [
        e.fields for e in read_events(lines)
    ]


def test_unnamed_data_and_user_data_are_flattened(tmp_path):
    obj = windows(1, "Application", {"Data": ["first", "second"]})
    obj["Event"]["UserData"] = {"LogFileCleared": {"SubjectUserName": "bob"}}
    path = tmp_path / "app.json"
    path.write_text(json.dumps(obj))
    (event,) = read_events(path)
    assert event.fields["Data"] == "first\nsecond"
    assert event.fields["SubjectUserName"] == "bob"


def test_socdrill_records_round_trip(tmp_path):
    original = Event(
        "u1",
        1772352000.0,
        "proxy",
        "",
        None,
        "proxy",
        None,
        {"c-uri": "http://x.example/"},
        "raw line",
    )
    path = tmp_path / "events.ndjson"
    path.write_bytes(orjson.dumps(original.to_record()) + b"\n")
    assert list(read_events(path)) == [original]


def test_ecs_documents_use_sigma_names(tmp_path):
    doc = {
        "@timestamp": "2026-03-01T08:00:00Z",
        "host": {"name": "ws-9"},
        "process": {"command_line": "whoami /all"},
        "event": {"module": "sysmon"},
    }
    path = tmp_path / "ecs.ndjson"
    path.write_text(json.dumps(doc) + "\n")
    (event,) = read_events(path)
    assert event.host == "ws-9"
    assert event.fields["CommandLine"] == "whoami /all"


def test_flat_objects_need_a_timestamp(tmp_path):
    path = tmp_path / "flat.ndjson"
    path.write_text('{"ts": "2026-03-01T08:00:00Z", "host": "h", "x": 1}\n')
    (event,) = read_events(path)
    assert (event.host, event.fields["x"]) == ("h", 1)


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"Event": {"System": {"EventID": 1}}\n{broken', "invalid JSON"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"no": "timestamp"}', "unrecognised JSON object"),
        (b'{"Event": {"System": {"Channel": "Security"}}}', "without System.EventID"),
        (b'{"uid": "u", "ts": "bad", "fields": {}, "raw": ""}', "malformed socdrill"),
        (b"\xff\xfe\x00garbage", "neither an EVTX file nor UTF-8"),
        (b"ElfFile\x00" + b"\x00" * 64, "not a readable EVTX file"),
    ],
)
def test_malformed_files_are_refused_and_change_nothing(
    tmp_path, store, content, message
):
    path = tmp_path / "bad.log"
    path.write_bytes(content)
    with pytest.raises(LogImportError, match=message):
        import_file(store, path)
    assert store.count() == 0


def test_importing_the_same_log_twice_stores_it_once(store):
    first = import_file(store, CHCP / "events.evtx", tenant="blue")
    second = import_file(store, CHCP / "events.json", tenant="blue")
    assert (first.stored, second.stored, second.duplicates) == (1, 0, 1)
    assert store.count(tenant="blue") == 1


def test_import_command_reports_what_it_stored(tmp_path):
    url = f"sqlite:///{tmp_path / 'siem.db'}"
    runner = CliRunner()
    result = runner.invoke(import_command, [str(CHCP / "events.evtx"), "--siem", url])
    assert result.exit_code == 0, result.output
    assert "1 events imported" in result.output
    again = runner.invoke(import_command, [str(CHCP / "events.json"), "--siem", url])
    assert "0 events imported, 1 already stored" in again.output
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    failed = runner.invoke(import_command, [str(bad), "--siem", url])
    assert failed.exit_code != 0
    assert "invalid JSON" in failed.output
