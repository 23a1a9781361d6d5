"""SigmaHQ compatibility: real rules, unmodified, on the real events recorded for them.

Every pair in the regression folder is run twice, from ``events.evtx`` and from
``events.json``, each in its own scratch store. A pair agrees when the rule matches
at least ``match_count`` events (at least one when absent).
"""

from __future__ import annotations

import pytest

from siem.regress import find_pairs, run_pooled, run_regression
from tests.conftest import REALWORLD

PAIRS = REALWORLD / "sigma-regression"
MIN_RATE = 0.95


@pytest.fixture(scope="module")
def results():
    return run_regression(PAIRS)


@pytest.mark.parametrize("kind", ["evtx", "json"])
def test_sigmahq_regression_pairs_agree(results, kind):
    mine = [r for r in results if r.kind == kind]
    assert len(mine) == len(find_pairs(PAIRS))
    failures = [r.line() for r in mine if not r.agrees]
    for line in failures:
        print(line)
    agree = len(mine) - len(failures)
    print(f"{agree}/{len(mine)} pairs agree ({kind})")
    assert agree >= MIN_RATE * len(mine), "\n".join(failures)


def test_evtx_and_json_give_the_same_verdicts(results):
    verdicts: dict[str, set[tuple[bool, int]]] = {}
    for r in results:
        verdicts.setdefault(r.name, set()).add((r.agrees, r.matched))
    assert all(len(v) == 1 for v in verdicts.values())


def test_every_rule_fires_on_its_own_events_when_pooled():
    pooled = run_pooled(PAIRS)
    missed = [p.name for p in pooled if not p.fired_on_own]
    assert len(pooled) - len(missed) >= MIN_RATE * len(pooled), missed
