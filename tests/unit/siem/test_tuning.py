"""Tuning: an exception added to a rule, replayed over stored, labelled events."""

from __future__ import annotations

import orjson
import pytest

from siem.sigma import RuleError, load_rule
from siem.store import EventStore
from siem.tuning import add_exception, replay
from simulator.events import Event, Label, parse_iso

T0 = parse_iso("2026-03-01T08:00:00Z")

RULE = """\
title: PowerShell Download
id: 00000000-0000-4000-8000-000000000d01
logsource: {product: windows, category: process_creation}
detection:
    selection:
        CommandLine|contains: 'DownloadString'
    condition: selection
level: high
"""


def process(uid: str, minute: int, cmd: str, user: str, host: str = "WS-01") -> Event:
    fields = {"EventID": 1, "CommandLine": cmd, "User": user}
    return Event(
        uid,
        T0 + minute * 60,
        "sysmon",
        host,
        "windows",
        "process_creation",
        "sysmon",
        fields,
        orjson.dumps(fields).decode(),
    )


@pytest.fixture
def labelled(store: EventStore) -> EventStore:
    """The store of the backend under test with an attack and two IT lookalikes."""
    store.insert(
        [
            process(
                "attack",
                0,
                "iex (New-Object Net.WebClient).DownloadString('x')",
                "CORP\\bob",
            ),
            process(
                "it-1",
                1,
                "DownloadString('https://intranet/inv.ps1')",
                "CORP\\svc_inventory",
            ),
            process(
                "it-2",
                20,
                "DownloadString('https://intranet/inv.ps1')",
                "CORP\\svc_inventory",
                host="WS-02",
            ),
            process("calm", 2, "notepad.exe", "CORP\\bob"),
        ]
    )
    store.insert_labels([Label("attack", "sc", "stage-2", "T1059.001")])
    return store


def test_an_exception_removes_the_false_positives_and_keeps_the_attack(labelled):
    rule = load_rule(RULE, dialect=labelled.dialect)
    tuned = add_exception(rule, {"User|endswith": "\\svc_inventory"})
    assert (tuned.id, tuned.dialect) == (rule.id, labelled.dialect)
    result = replay(labelled, rule, tuned)
    assert (result.before.events, result.before.alerts) == (3, 2)
    assert (result.after.events, result.after.alerts) == (1, 1)
    assert (result.before.true_positives, result.before.false_positives) == (1, 2)
    assert (result.after.true_positives, result.after.false_positives) == (1, 0)
    assert result.removed_events == 2
    assert result.removed_true_positives == 0


def test_an_exception_that_hides_the_attack_shows_it(labelled):
    rule = load_rule(RULE, dialect=labelled.dialect)
    tuned = add_exception(rule, {"CommandLine|contains": "downloadstring"})
    result = replay(labelled, rule, tuned)
    assert result.after.events == 0
    assert result.removed_true_positives == 1


def test_rules_loaded_for_another_dialect_are_converted_for_the_store(labelled):
    other = "postgresql" if labelled.dialect == "sqlite" else "sqlite"
    rule = load_rule(RULE, dialect=other)
    tuned = add_exception(rule, {"User|endswith": "\\svc_inventory"})
    assert tuned.dialect == other
    result = replay(labelled, rule, tuned)
    assert (result.before.events, result.after.events) == (3, 1)


def test_exceptions_stack_under_distinct_names():
    rule = load_rule(RULE)
    twice = add_exception(add_exception(rule, {"User": "a"}), {"User": "b"})
    assert "filter_tuning_2" in twice.source


@pytest.mark.parametrize(
    "exception, reason",
    [
        ({}, "invalid exception"),
        ({"User": {"nested": 1}}, "invalid exception"),
        ({"User|nosuchmodifier": "x"}, "unsupported modifier"),
    ],
)
def test_bad_exceptions_are_refused(exception, reason):
    with pytest.raises(RuleError) as caught:
        add_exception(load_rule(RULE), exception)
    assert caught.value.reason == reason
