"""Whole-corpus loading and the detector's word pre-filter."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from siem.corpus import literal_needs, load_corpus
from siem.detector import Detector
from siem.importers import read_events
from siem.sigma import load_rules
from siem.store import EventStore
from socdrill.commands.rules import rules
from tests.conftest import REALWORLD

GOOD = """\
title: Good
id: 00000000-0000-4000-8000-000000000c01
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\\\\whoami.exe'}
    condition: selection
"""
UNKNOWN = GOOD.replace("c01", "c02").replace("product: windows", "product: amiga")
BAD_MODIFIER = GOOD.replace("c01", "c03").replace("endswith", "sometimes")
ORPHAN = """\
title: Orphan correlation
id: 00000000-0000-4000-8000-000000000c04
correlation:
    type: event_count
    rules: [no_such_rule]
    timespan: 5m
    condition: {gte: 2}
"""


def test_a_corpus_reports_what_converted_and_why_not(tmp_path):
    for name, text in [("a", GOOD), ("b", UNKNOWN), ("c", BAD_MODIFIER), ("d", ORPHAN)]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        (tmp_path / "sub" / f"{name}.yml").write_text(text)
    report = load_corpus(tmp_path)
    assert [r.title for r in report.rules] == ["Good"]
    assert dict(report.by_reason) == {
        "unknown logsource": 1,
        "unsupported modifier": 1,
        "correlation without base rules": 1,
    }
    summary = report.summary_lines()
    assert summary[0].startswith("1/4 rules converted from 4 files in ")
    assert "  not converted, unknown logsource: 1" in summary


def test_load_command_prints_the_summary(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(UNKNOWN)
    result = CliRunner().invoke(rules, ["load", str(tmp_path), "-v"])
    assert result.exit_code == 0
    assert "unknown logsource: product=amiga" in result.output
    assert "1/2 rules converted" in result.output


def test_load_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "absent")


@pytest.mark.parametrize(
    "literal, words, grams",
    [
        ("\\whoami.exe", {"whoami"}, set()),
        ("sekurlsa::", set(), {"seku", "ekur", "kurl", "urls", "rlsa"}),
        (" -s ", {"s"}, set()),
        ("rpc::", set(), set()),
    ],
)
def test_literal_needs_only_claim_what_must_be_there(literal, words, grams):
    found_words, found_grams, _ = literal_needs(literal)
    assert found_words == words
    assert found_grams == grams


def test_control_characters_do_not_bound_words():
    words, grams, _ = literal_needs("a\nfoo\tb")
    assert "foo" not in words


def test_non_ascii_literals_need_their_characters():
    assert literal_needs("\U0001f986")[2] == {"\U0001f986"}


@pytest.fixture(scope="module")
def corpus_sample():
    """SigmaHQ rules of the regression pairs plus a slice of process_creation."""
    pairs = sorted((REALWORLD / "sigma-regression").iterdir())
    creation = sorted(
        (REALWORLD / "sigmahq-rules" / "windows" / "process_creation").glob("*.yml")
    )[:250]
    loaded = load_rules([p / "rule.yml" for p in pairs] + creation)
    assert not loaded.failures
    events = [e for p in pairs for e in read_events(p / "events.json")]
    return loaded.rules, events


def alert_links(store: EventStore) -> set[tuple[str, int]]:
    with store.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT a.rule_id, e.event_id FROM alerts a JOIN alert_events e "
            "ON e.alert_id = a.id"
        )
        return {(rule_id, event_id) for rule_id, event_id in rows}


def test_the_prefilter_finds_exactly_what_plain_queries_find(corpus_sample):
    rules_, events = corpus_sample
    fast = EventStore.open("sqlite://")
    slow = EventStore.open("sqlite://")
    for store in (fast, slow):
        store.insert(events, on_duplicate="ignore")
    fast_report = Detector(fast, rules_, prefilter=True).tick()
    slow_report = Detector(slow, rules_, prefilter=False).tick()
    assert fast_report.matches == slow_report.matches > 45
    assert fast_report.rules_run < slow_report.rules_run
    assert alert_links(fast) == alert_links(slow)
    fast.close()
    slow.close()
