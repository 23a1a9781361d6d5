"""Streaming detection, retro-hunts, correlation rules and alert grouping."""

from __future__ import annotations

import threading

import orjson
import pytest

from siem import alerts
from siem.detector import Detector, DetectorError, retro_hunt
from siem.sigma import LoadedRule, load_rule, load_rules
from siem.store import EventStore
from simulator.events import Event, parse_iso

T0 = parse_iso("2026-03-01T08:00:00Z")

WHOAMI = """\
title: Whoami Execution
id: 00000000-0000-4000-8000-0000000000a1
name: whoami_exec
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
level: medium
"""

FAILED_LOGON = """\
title: Failed Logon
id: 00000000-0000-4000-8000-0000000000b1
name: failed_logon
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
"""

SPRAY = """\
title: Password Spray
id: 00000000-0000-4000-8000-0000000000b2
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 3}
level: high
tags: [attack.credential-access, attack.t1110.003]
"""


def process(uid: str, seconds: float, image: str, host: str = "WS-01") -> Event:
    fields = {"EventID": 1, "Image": image, "CommandLine": image.rsplit("\\", 1)[-1]}
    return Event(
        uid,
        T0 + seconds,
        "sysmon",
        host,
        "windows",
        "process_creation",
        "sysmon",
        fields,
        orjson.dumps(fields).decode(),
    )


def logon(uid: str, seconds: float, ip: str, event_id: int = 4625) -> Event:
    fields = {"EventID": event_id, "IpAddress": ip, "TargetUserName": "bob"}
    return Event(
        uid,
        T0 + seconds,
        "windows_security",
        "DC-01",
        "windows",
        None,
        "security",
        fields,
        orjson.dumps(fields).decode(),
    )


def rule_for(store: EventStore, text: str) -> LoadedRule:
    """``text`` loaded for the SQL dialect of ``store``."""
    return load_rule(text, dialect=store.dialect)


@pytest.fixture
def sqlite_store(tmp_path):
    """An embedded store: the pre-filter is SQLite's."""
    opened = EventStore.open(f"sqlite:///{tmp_path / 'siem.db'}")
    yield opened
    opened.close()


def linked_events(store: EventStore) -> list[int]:
    with store.connect() as conn:
        return [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT event_id FROM alert_events ORDER BY event_id"
            )
        ]


@pytest.mark.parametrize("prefilter", [True, False])
def test_each_new_event_is_evaluated_once(store, prefilter):
    detector = Detector(store, [rule_for(store, WHOAMI)], prefilter=prefilter)
    store.insert(
        [
            process("a", 0, r"C:\Windows\System32\whoami.exe"),
            process("b", 1, r"C:\Windows\explorer.exe"),
        ]
    )
    first = detector.tick()
    assert (first.events, first.matches) == (2, 1)
    assert detector.tick().matches == 0
    store.insert([process("c", 2, r"C:\Windows\System32\WHOAMI.EXE")])
    third = detector.tick()
    assert (third.first_id, third.last_id, third.matches) == (3, 3, 1)
    assert linked_events(store) == [1, 3]
    assert detector.watermark == 3


def test_rules_whose_logsource_has_no_new_events_are_skipped(store):
    detector = Detector(store, [rule_for(store, WHOAMI), rule_for(store, FAILED_LOGON)])
    store.insert([logon("a", 0, "192.0.2.1")])
    report = detector.tick()
    assert (report.rules_run, report.rules_skipped, report.matches) == (1, 1, 1)


def test_the_prefilter_skips_rules_whose_words_are_absent(sqlite_store):
    store = sqlite_store
    detector = Detector(store, [rule_for(store, WHOAMI)], prefilter=True)
    store.insert([process("a", 0, r"C:\Windows\explorer.exe")])
    report = detector.tick()
    assert (report.rules_run, report.rules_skipped) == (0, 1)


def test_the_prefilter_runs_a_rule_on_the_events_holding_its_words(sqlite_store):
    store = sqlite_store
    detector = Detector(store, [rule_for(store, WHOAMI)], prefilter=True)
    store.insert(
        [
            process("a", 0, r"C:\Windows\explorer.exe"),
            # the word is there, in the wrong field: a candidate the rule rejects
            Event(
                "b",
                T0,
                "sysmon",
                "WS-01",
                "windows",
                "process_creation",
                "sysmon",
                {"Image": r"C:\w\cmd.exe", "CommandLine": "whoami.exe"},
                "",
            ),
            process("c", 2, r"C:\w\WhoAmI.exe"),
        ]
    )
    report = detector.tick()
    assert (report.rules_run, report.matches) == (1, 1)
    assert linked_events(store) == [3]


def test_the_prefilter_is_sqlites_and_other_stores_run_plain_queries(store):
    detector = Detector(store, [rule_for(store, WHOAMI)])
    assert detector.prefilter == (store.dialect == "sqlite")
    assert not Detector(store, [rule_for(store, WHOAMI)], prefilter=False).prefilter


def test_rules_loaded_for_another_store_dialect_are_refused(sqlite_store):
    rule = load_rule(WHOAMI, dialect="postgresql")
    with pytest.raises(DetectorError, match="dialect='sqlite'"):
        Detector(sqlite_store, [rule])


def test_max_events_bounds_a_tick(store):
    detector = Detector(store, [rule_for(store, WHOAMI)])
    store.insert([process(f"e{i}", i, r"C:\w\whoami.exe") for i in range(5)])
    assert detector.tick(max_events=2).matches == 2
    assert detector.tick().matches == 3


def test_hits_fold_into_one_alert_per_host_and_bucket(store):
    detector = Detector(store, [rule_for(store, WHOAMI)], bucket_seconds=300)
    store.insert(
        [
            process("a", 0, r"C:\w\whoami.exe"),
            process("b", 10, r"C:\w\whoami.exe"),
            process("c", 20, r"C:\w\whoami.exe", host="WS-02"),
            process("d", 400, r"C:\w\whoami.exe"),
        ]
    )
    detector.tick()
    store.insert([process("e", 30, r"C:\w\whoami.exe")])
    detector.tick()
    with store.connect() as conn:
        found = alerts.list_alerts(conn)
        events = alerts.alert_event_ids(conn, [a.id for a in found])
    summary = sorted((a.host, a.bucket_start, a.event_count) for a in found)
    assert summary == [
        ("WS-01", "2026-03-01T08:00:00.000Z", 3),
        ("WS-01", "2026-03-01T08:05:00.000Z", 1),
        ("WS-02", "2026-03-01T08:00:00.000Z", 1),
    ]
    first = next(a for a in found if a.event_count == 3)
    assert events[first.id] == [1, 2, 5]
    assert (first.level, first.severity, first.techniques, first.tactics) == (
        "medium",
        2,
        ("T1033",),
        ("discovery",),
    )
    assert first.first_ts == "2026-03-01T08:00:00.000Z"
    assert first.last_ts == "2026-03-01T08:00:30.000Z"


def test_alerts_keep_tenants_apart(store):
    detector = Detector(store, [rule_for(store, WHOAMI)])
    store.insert([process("a", 0, r"C:\w\whoami.exe")], tenant="red")
    store.insert([process("b", 1, r"C:\w\whoami.exe")], tenant="blue")
    detector.tick()
    with store.connect() as conn:
        assert [a.tenant for a in alerts.list_alerts(conn, tenant="blue")] == ["blue"]
        assert len(alerts.list_alerts(conn)) == 2


def test_concurrent_inserts_are_never_skipped_nor_counted_twice(store):
    detector = Detector(store, [rule_for(store, WHOAMI)])
    done = threading.Event()
    expected: list[str] = []

    def writer() -> None:
        for batch in range(40):
            events = [
                process(
                    f"w{batch}-{i}",
                    batch * 10 + i,
                    r"C:\w\whoami.exe" if i % 3 == 0 else r"C:\w\calc.exe",
                )
                for i in range(25)
            ]
            expected.extend(e.uid for e in events if "whoami" in e.fields["Image"])
            store.insert(events)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    ticks = 0
    while not done.is_set():
        detector.tick()
        ticks += 1
    thread.join()
    detector.tick()
    linked = linked_events(store)
    assert len(linked) == len(set(linked)) == len(expected) == 360
    uids = {s.event.uid for s in store.get_many(linked)}
    assert uids == set(expected)
    assert ticks >= 1


def test_retro_hunt_covers_history_and_time_ranges(store):
    store.insert(
        [process("a", 0, r"C:\w\whoami.exe"), process("b", 3600, r"C:\w\whoami.exe")]
    )
    rule = rule_for(store, WHOAMI)
    assert retro_hunt(store, [rule]).matches[rule.id] == [1, 2]
    later = retro_hunt(store, [rule], start=T0 + 60)
    assert later.matches[rule.id] == [2]
    recorded = retro_hunt(store, [rule], record=True)
    assert len(recorded.alert_ids) == 2


def correlation_rules(store):
    loaded = load_rules([FAILED_LOGON, SPRAY], dialect=store.dialect)
    assert not loaded.failures
    return loaded.rules


def test_a_correlation_fires_when_its_threshold_is_reached_in_the_window(store):
    detector = Detector(store, correlation_rules(store))
    store.insert([logon("a", 0, "192.0.2.9"), logon("b", 60, "192.0.2.9")])
    first = detector.tick()
    assert first.alert_ids  # the base rule alerts on its own
    with store.connect() as conn:
        titles = {a.rule_title for a in alerts.list_alerts(conn)}
    assert titles == {"Failed Logon"}
    store.insert([logon("c", 120, "192.0.2.9"), logon("d", 130, "192.0.2.77")])
    detector.tick()
    with store.connect() as conn:
        spray = [
            a for a in alerts.list_alerts(conn) if a.rule_title == "Password Spray"
        ]
        assert len(spray) == 1
        assert alerts.alert_event_ids(conn, [spray[0].id])[spray[0].id] == [1, 2, 3]
    assert spray[0].level == "high" and spray[0].techniques == ("T1110.003",)


def test_a_correlation_ignores_events_spread_beyond_its_timespan(store):
    detector = Detector(store, correlation_rules(store))
    store.insert([logon(f"e{i}", i * 400, "192.0.2.9") for i in range(4)])
    detector.tick()
    with store.connect() as conn:
        assert all(a.rule_title != "Password Spray" for a in alerts.list_alerts(conn))


def test_a_second_detector_on_the_same_watermark_does_not_repeat_work(store):
    rule = rule_for(store, WHOAMI)
    store.insert([process("a", 0, r"C:\w\whoami.exe")])
    assert Detector(store, [rule]).tick().matches == 1
    assert Detector(store, [rule]).tick().matches == 0
    assert Detector(store, [rule], name="other").tick().matches == 1


def test_advance_to_skips_history_and_never_moves_back(store):
    detector = Detector(store, [rule_for(store, WHOAMI)])
    store.insert([process("a", 0, r"C:\w\whoami.exe")])
    detector.advance_to(store.max_id())
    detector.advance_to(0)
    assert detector.watermark == 1
    assert detector.tick().matches == 0
