"""Whole-corpus loading, its cache, and the pre-filter on every SigmaHQ rule."""

from __future__ import annotations

import itertools
import sqlite3

import pytest
from click.testing import CliRunner

from siem.corpus import conversion_salt, load_corpus
from siem.detector import Detector
from siem.importers import read_events
from siem.store import EventStore
from simulator.environment import Organisation
from simulator.events import Event, parse_iso
from simulator.noise import noise_stream
from socdrill.commands.rules import rules
from tests.conftest import REALWORLD

T0 = parse_iso("2026-03-02T08:00:00Z")

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


def test_a_second_load_comes_from_the_cache_and_is_the_same(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, text in [("a", GOOD), ("b", UNKNOWN), ("c", BAD_MODIFIER)]:
        (folder / f"{name}.yml").write_text(text)
    first = load_corpus(folder, cache_dir=tmp_path / "cache")
    second = load_corpus(folder, cache_dir=tmp_path / "cache")
    assert (first.cached, second.cached) == (0, 3)
    assert second.rules == first.rules == load_corpus(folder).rules
    assert second.failures == first.failures
    assert second.rules[0].path == str(folder / "a.yml")


def test_an_edited_rule_is_converted_again(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(UNKNOWN)
    load_corpus(tmp_path, cache_dir=tmp_path / "cache")
    (tmp_path / "a.yml").write_text(GOOD.replace("whoami", "net1"))
    again = load_corpus(tmp_path, cache_dir=tmp_path / "cache")
    assert again.cached == 1
    assert "net1" in again.rules[0].fragment


def test_an_unreadable_cache_entry_is_converted_again(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    load_corpus(tmp_path, cache_dir=tmp_path / "cache")
    with sqlite3.connect(tmp_path / "cache" / "rules.sqlite") as db:
        db.execute('UPDATE converted SET outcome = \'{"rules": [{"id": 1}]}\'')
    again = load_corpus(tmp_path, cache_dir=tmp_path / "cache")
    assert again.cached == 0
    assert [r.title for r in again.rules] == ["Good"]


def test_a_cache_from_other_conversion_code_is_not_used(tmp_path):
    assert conversion_salt(check_sql=True) != conversion_salt(check_sql=False)
    (tmp_path / "a.yml").write_text(GOOD)
    load_corpus(tmp_path, cache_dir=tmp_path / "cache", check_sql=False)
    assert load_corpus(tmp_path, cache_dir=tmp_path / "cache").cached == 0


def test_a_corpus_with_correlations_is_always_converted_whole(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(ORPHAN)
    load_corpus(tmp_path, cache_dir=tmp_path / "cache")
    again = load_corpus(tmp_path, cache_dir=tmp_path / "cache")
    assert again.cached == 0
    assert dict(again.by_reason) == {"correlation without base rules": 1}


@pytest.fixture(scope="module")
def sigmahq(tmp_path_factory):
    """Every SigmaHQ rule, through the cache (as a second detector would load it)."""
    cache = tmp_path_factory.mktemp("rule-cache")
    load_corpus(REALWORLD / "sigmahq-rules", cache_dir=cache)
    report = load_corpus(REALWORLD / "sigmahq-rules", cache_dir=cache)
    assert report.cached == report.files > 3000
    assert not report.failures
    return report.rules


def realistic_events() -> list[Event]:
    """An office's background noise with the regression pairs' attacks inside."""
    org = Organisation.build(11, "small")
    noise = list(itertools.islice(noise_stream(org, start=T0, hours=8, seed=11), 4000))
    pairs = sorted((REALWORLD / "sigma-regression").iterdir())
    attacks = [e for p in pairs for e in read_events(p / "events.json")]
    return noise[:2000] + attacks + noise[2000:]


def alert_links(store: EventStore) -> set[tuple[str, int]]:
    with store.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT a.rule_id, e.event_id FROM alerts a JOIN alert_events e "
            "ON e.alert_id = a.id"
        )
        return {(rule_id, event_id) for rule_id, event_id in rows}


def test_the_prefilter_finds_exactly_what_plain_queries_find(sigmahq):
    """Every SigmaHQ rule, over noise and real attacks, in three ticks."""
    events = realistic_events()
    reports = []
    links = []
    for prefilter in (True, False):
        store = EventStore.open("sqlite://")
        detector = Detector(store, sigmahq, prefilter=prefilter)
        ticks = []
        for chunk in (events[:1500], events[1500:3000], events[3000:]):
            store.insert(chunk, on_duplicate="ignore")
            ticks.append(detector.tick())
        reports.append(ticks)
        links.append(alert_links(store))
        store.close()
    fast, plain = reports
    assert [t.matches for t in fast] == [t.matches for t in plain]
    assert sum(t.matches for t in fast) > 100
    assert sum(t.rules_run for t in fast) < sum(t.rules_run for t in plain) / 5
    assert links[0] == links[1]
    assert len({rule_id for rule_id, _ in links[0]}) > 40
