"""Benign noise raises realistic SigmaHQ false positives, and no alert flood.

A day of noise of a 50-host organisation is about 4.5 million events; the test runs
the whole SigmaHQ corpus over a faithful sample of that day instead: six 5-minute
windows, one every four hours from midnight UTC, so night, the morning peak, lunch,
the afternoon and the evening all appear. ``make realism`` measures the whole day
(every hour of it) for ``docs/realism.md``.

The flood criterion counts rules at SigmaHQ level ``low`` and above: SigmaHQ marks
``informational`` rules as enrichment that never raises an alert (the logoff rule
matches every logoff), and they are printed with their share all the same.
"""

from __future__ import annotations

import pytest

from siem import realism as rz
from siem.corpus import load_corpus
from simulator.environment import Organisation
from tests.conftest import REALWORLD

SIGMAHQ = REALWORLD / "sigmahq-rules"
SEED = 20260301
MIDNIGHT = 1772409600.0  # Monday 2026-03-02 00:00 UTC
FLOOD = 0.01  # no rule on more than 1 % of events

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample() -> rz.FalsePositiveReport:
    assert SIGMAHQ.is_dir(), f"{SIGMAHQ} is missing"
    rules = load_corpus(SIGMAHQ).rules
    org = Organisation.build(SEED, "medium")
    assert len(org.hosts) == 50
    report = rz.noise_false_positives(
        org,
        rules,
        seed=SEED,
        windows=rz.day_windows(MIDNIGHT, every_hours=4, minutes=5),
    )
    print(
        f"\n{report.events:,} events of benign noise in {len(report.windows)} windows"
    )
    for title, count, share in report.top(15):
        print(f"{count:>8} {share:7.3%}  {title}")
    return report


def test_benign_noise_raises_some_real_sigmahq_false_positives(sample):
    assert sample.events > 50_000
    firing = [rid for rid, count in sample.matches.items() if count]
    assert len(firing) >= 5, "a real network trips several generic rules"


def test_no_alerting_rule_floods_the_noise(sample):
    flooding = sample.flooding(FLOOD)
    assert flooding == [], f"rules on more than {FLOOD:.0%} of events: {flooding}"
