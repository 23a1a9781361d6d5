"""Background noise: time order, rhythm, determinism, windows, suspicious-but-benign."""

from __future__ import annotations

import hashlib
import heapq
import io
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest
from click.testing import CliRunner

from simulator.environment import Organisation
from simulator.episodes import Episodes
from simulator.events import dumps
from simulator.ndjson import record_line, write_ndjson, write_raw
from simulator.noise import NoiseGenerator, noise_stream
from simulator.rhythm import PROFILES
from simulator.sensors import SENSORS
from socdrill.cli import cli
from socdrill.commands.generate import _attack
from tests.conftest import ROOT
from tests.unit.scenario.conftest import GOOD

MONDAY_8_UTC = 1_772_438_400  # 2026-03-02 08:00 UTC, a Monday
DAY = 86_400


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(21, "small")


@pytest.fixture(scope="module")
def busy_hour(org) -> list:
    """Half an hour of a working morning (09:00 UTC, morning in every org zone)."""
    return list(noise_stream(org, start=MONDAY_8_UTC + 3600, hours=0.5, seed=3))


def digest(events) -> str:
    out = io.BytesIO()
    write_ndjson(events, out)
    return hashlib.sha256(out.getvalue()).hexdigest()


def test_events_come_in_time_order_inside_the_window(org):
    start = MONDAY_8_UTC + 1234.5
    events = list(noise_stream(org, start=start, hours=0.25, seed=3))
    assert events
    stamps = [e.ts for e in events]
    assert stamps == sorted(stamps)
    assert start <= stamps[0] and stamps[-1] < start + 900


def test_uids_are_unique(busy_hour):
    uids = [e.uid for e in busy_hour]
    assert len(set(uids)) == len(uids)
    assert all(u.startswith("n-") for u in uids)


def test_the_same_window_is_the_same_whichever_way_it_is_cut(org):
    start = MONDAY_8_UTC + 7200
    whole = list(NoiseGenerator(org, 5).window(start, start + 600))
    cuts = [0, 0.4, 17.3, 60, 61.5, 300, 300, 599.999, 600]
    pieces = NoiseGenerator(org, 5)
    stitched = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        stitched += list(pieces.window(start + a, start + b))
    assert [record_line(e) for e in stitched] == [record_line(e) for e in whole]
    # A later window asked first is the same too (nothing carried over).
    fresh = NoiseGenerator(org, 5)
    late = list(fresh.window(start + 300, start + 600))
    assert [e.uid for e in late] == [e.uid for e in whole if e.ts >= start + 300]


def test_same_inputs_give_byte_identical_ndjson(org):
    start = MONDAY_8_UTC + 3600
    first = digest(NoiseGenerator(org, 9).window(start, start + 300))
    second = digest(
        NoiseGenerator(Organisation.from_json(org.to_json()), 9).window(
            start, start + 300
        )
    )
    assert first == second
    assert digest(NoiseGenerator(org, 10).window(start, start + 300)) != first


def test_output_does_not_depend_on_the_interpreters_hash_seed(org, tmp_path):
    path = tmp_path / "org.json"
    org.save(path)
    code = (
        "import hashlib, io\n"
        "from simulator.environment import Organisation\n"
        "from simulator.ndjson import write_ndjson\n"
        "from simulator.noise import noise_stream\n"
        f"org = Organisation.load({str(path)!r})\n"
        "out = io.BytesIO()\n"
        f"write_ndjson(noise_stream(org, start={MONDAY_8_UTC + 3600}, hours=0.05,"
        " seed=4), out)\n"
        "print(hashlib.sha256(out.getvalue()).hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def test_every_event_is_a_complete_sensor_record(busy_hour):
    for event in busy_hour[:2000]:
        sensor = SENSORS[event.sensor]
        assert event.raw and event.fields
        kinds = set(sensor.kinds.values())
        assert any(
            (event.product, event.category, event.service)
            == (k.product, k.category, k.service)
            for k in kinds
        )


def test_a_working_hour_has_every_kind_of_source(busy_hour):
    sensors = Counter(e.sensor for e in busy_hour)
    for sensor_id in (
        "sysmon",
        "windows_security",
        "powershell",
        "linux_auth",
        "auditd",
        "firewall",
        "proxy",
        "dns",
        "webserver",
        "email_gateway",
        "cloudtrail",
        "idp_signin",
    ):
        assert sensors[sensor_id] > 0, sensor_id
    assert sensors["sysmon"] > sensors["windows_security"] > sensors["proxy"]


def test_sysmon_noise_has_a_realistic_mix_of_event_ids(busy_hour):
    ids = Counter(e.fields["EventID"] for e in busy_hour if e.sensor == "sysmon")
    assert set(ids) >= {1, 3, 7, 10, 11, 13, 22}
    assert ids[7] > ids[1]  # image loads outnumber process starts


def test_record_numbers_rise_per_host_and_channel(busy_hour):
    last: dict[tuple[str, str], int] = {}
    for event in busy_hour:
        if "EventRecordID" not in event.fields:
            continue
        key = (event.fields["Computer"], event.fields["Channel"])
        number = event.fields["EventRecordID"]
        assert number > last.get(key, 0), key
        last[key] = number


def test_office_hours_follow_the_working_day_and_week(org):
    generator = NoiseGenerator(org, 1, "office_hours")
    monday = MONDAY_8_UTC // 3600
    busy = generator.expected_per_hour(monday + 2)  # ~10:00 local
    night = generator.expected_per_hour(monday - 6)  # ~03:00 local
    sunday = generator.expected_per_hour(monday - 22)  # Sunday ~11:00 local
    assert busy > 3 * night
    assert busy > 3 * sunday


def test_profiles_differ_as_their_names_say(org):
    monday = MONDAY_8_UTC // 3600
    office = NoiseGenerator(org, 1, "office_hours")
    shifts = NoiseGenerator(org, 1, "24x7")
    quiet = NoiseGenerator(org, 1, "quiet")
    hours = [monday + h for h in range(-8, 16)]
    flat = [shifts.expected_per_hour(h) for h in hours]
    assert max(flat) < 1.3 * min(flat)
    for h in hours:
        assert quiet.expected_per_hour(h) == pytest.approx(
            0.3 * office.expected_per_hour(h)
        )
    assert set(PROFILES) >= {"office_hours", "24x7", "quiet"}


def test_generated_volume_follows_the_rhythm(org):
    generator = NoiseGenerator(org, 2)
    day = sum(1 for _ in generator.window(MONDAY_8_UTC + 3600, MONDAY_8_UTC + 4200))
    night = sum(
        1
        for _ in generator.window(
            MONDAY_8_UTC - 5 * 3600, MONDAY_8_UTC - 5 * 3600 + 600
        )
    )
    assert day > 2.5 * night


def two_weeks_of_episodes(org) -> list:
    streams = {s.key for s in NoiseGenerator(org, 8).streams}
    episodes = Episodes(org, 8, streams)
    first = MONDAY_8_UTC // DAY
    return [item for day in range(first, first + 14) for item in episodes.plan(day)]


def test_benign_activity_that_trips_naive_rules_is_planned(org):
    items = two_weeks_of_episodes(org)
    lines = [str(v.get("CommandLine", "")) for _, _, _, v in items]
    assert any("-EncodedCommand" in line for line in lines)
    assert any("certutil.exe -urlcache" in line for line in lines)
    assert any("schtasks.exe /Create" in line for line in lines)
    assert any("paste.example.org" in line for line in lines)
    assert any("vssadmin.exe list shadows" in line for line in lines)
    assert any('net group "Domain Admins"' in line for line in lines)
    events = Counter(
        (v.get("EventID"), v.get("SubjectUserName") or v.get("TargetUserName"))
        for _, _, _, v in items
    )
    assert events[(4663, "svc_backup")] > 100  # the backup agent reads a share
    assert events[(4624, "svc_scan")] > 5  # the scanner logs on everywhere
    assert any(k[0] == 4698 for k in events)
    scripts = [v["ScriptBlockText"] for _, _, _, v in items if "ScriptBlockText" in v]
    assert scripts  # the decoded script of the encoded command is logged too


def test_mistyped_passwords_are_followed_by_a_good_logon(org):
    items = two_weeks_of_episodes(org)
    failures = [
        (ts, key, v["TargetUserName"])
        for ts, key, _, v in items
        if v.get("EventID") == 4625 and v.get("LogonType") == 2
    ]
    assert failures
    for ts, key, user in failures:
        assert any(
            k == key
            and v.get("EventID") == 4624
            and v.get("TargetUserName") == user
            and 0 < t - ts < 60
            for t, k, _, v in items
        )


def test_episodes_land_in_existing_streams_and_reach_the_output(org):
    generator = NoiseGenerator(org, 8)
    keys = {s.key for s in generator.streams}
    items = two_weeks_of_episodes(org)
    assert {key for _, key, _, _ in items} <= keys
    scan = [ts for ts, key, _, v in items if v.get("TargetUserName") == "svc_scan"]
    start = int(scan[0]) - 5
    window = list(generator.window(start, start + 120))
    assert any(e.fields.get("TargetUserName") == "svc_scan" for e in window)


def test_episode_content_stays_benign_looking(org):
    items = two_weeks_of_episodes(org)
    by_episode = defaultdict(int)
    for _, key, _, _ in items:
        by_episode[key.split("|")[0]] += 1
    assert by_episode["sysmon"] and by_episode["windows_security"]
    for _, _, _, v in items:
        line = str(v.get("CommandLine", ""))
        assert "mimikatz" not in line.lower() and "-w hidden" not in line.lower()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hours": -1}, "hours"),
        ({"hours": float("nan")}, "hours"),
        ({"profile": "weekend"}, "unknown noise profile"),
        ({"seed": "1"}, "seed"),
    ],
)
def test_bad_arguments_are_refused(org, kwargs, message):
    args = {"start": MONDAY_8_UTC, "hours": 1, "seed": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        noise_stream(org, **args)


def test_a_window_that_ends_before_it_starts_is_refused(org):
    generator = NoiseGenerator(org, 1)
    with pytest.raises(ValueError, match="before it starts"):
        generator.window(MONDAY_8_UTC, MONDAY_8_UTC - 1)
    with pytest.raises(ValueError, match="finite"):
        generator.window(float("inf"), MONDAY_8_UTC)


def test_record_lines_are_the_ndjson_of_the_same_window(org):
    start = MONDAY_8_UTC + 3600 + 17.5
    events = [
        record_line(e) for e in NoiseGenerator(org, 12).window(start, start + 300)
    ]
    lines = list(NoiseGenerator(org, 12).lines(start, start + 300))
    assert [line for _, line in lines] == events
    assert [ts for ts, _ in lines] == sorted(ts for ts, _ in lines)
    with pytest.raises(ValueError, match="before it starts"):
        NoiseGenerator(org, 12).lines(start, start - 1)


def test_record_lines_equal_the_shared_record_format(busy_hour):
    for event in busy_hour[::50]:
        assert record_line(event) == dumps(event.to_record()) + b"\n"
    out = io.BytesIO()
    assert write_raw(busy_hour[:10], out) == 10
    assert out.getvalue().decode().splitlines() == [e.raw for e in busy_hour[:10]]


def test_a_running_process_keeps_its_guid_across_the_day(busy_hour):
    guids: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for event in busy_hour:
        image = event.fields.get("Image", "")
        # Browsers and svchost run many instances at once; look at the others.
        if (
            event.sensor == "sysmon"
            and event.fields["EventID"] == 7
            and not image.endswith(("chrome.exe", "msedge.exe", "svchost.exe"))
        ):
            key = (event.fields["Computer"], image)
            guids[key][event.fields["ProcessGuid"]] += 1
    spread = [c for c in guids.values() if sum(c.values()) >= 10]
    assert spread
    for counts in spread:
        assert counts.most_common(1)[0][1] >= 0.8 * sum(counts.values())


def test_generate_writes_the_records_of_noise_and_attack_events_merged(tmp_path):
    """The command's record-line fast path equals serialising every event."""
    scenario = GOOD / "adaptive-attack.yaml"
    out, truth = tmp_path / "logs.ndjson", tmp_path / "truth.ndjson"
    result = CliRunner().invoke(
        cli,
        ["generate", "--scenario", str(scenario), "--seed", "7", "--hours", "0.4",
         "--org-size", "tiny", "--noise-profile", "quiet", "--out", str(out),
         "--truth", str(truth)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    start = MONDAY_8_UTC
    end = start + 0.4 * 3600
    org = Organisation.build(7, "tiny")
    attack, labels = _attack(str(scenario), org, 7, start)
    noise = noise_stream(org, start=start, hours=0.4, seed=7, profile="quiet")
    merged = [e for e in heapq.merge(noise, attack, key=lambda e: e.ts) if e.ts < end]
    assert any(e.uid in labels for e in merged)
    assert out.read_bytes() == b"".join(dumps(e.to_record()) + b"\n" for e in merged)
    assert truth.read_bytes() == b"".join(
        dumps(labels[e.uid].to_record()) + b"\n" for e in merged if e.uid in labels
    )
