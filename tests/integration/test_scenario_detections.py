"""End to end: every library scenario, simulated and ingested, trips its expected rules.

For each scenario in ``scenarios/`` the simulator binds the roles to a small synthetic
organisation and generates the attack timeline; the events go into a scratch event
store together with a quarter of an hour of benign background noise (tens of
thousands of events), and the bundled rule pack runs over them with the streaming
detector. Ground-truth labels (kept apart from the
events, as in the product) then say which alert belongs to which stage:

- every stage that fired raises each of its ``expect.detections`` on that stage's own
  events;
- a stage with an ``on_blocked`` fallback, blocked by the response that breaks its
  ``requires``, hands over to the fallback, whose expected detections fire too;
- the noise alone raises some alerts (false positives), as a real network does.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa

from siem.detector import Detector
from siem.rules import load_pack
from siem.sigma import LoadedRule
from siem.store import EventStore
from simulator import vocabulary
from simulator.environment import Organisation
from simulator.events import Event
from simulator.noise import noise_stream
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario, Stage
from simulator.timeline import StageOutcome, Timeline
from tests.conftest import ROOT

SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yml"))
FALLBACK_FILES = [
    p for p in SCENARIO_FILES if "on_blocked:" in p.read_text(encoding="utf-8")
]
SEED = 20260301
# Monday 2026-03-02 08:00 UTC: a working morning, so the noise has its daily peak.
START = 1772438400.0
NOISE_HOURS = 0.25

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pack() -> list[LoadedRule]:
    return load_pack()


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(SEED, "small")


@pytest.fixture(scope="module")
def noise(org: Organisation) -> list[Event]:
    return list(noise_stream(org, start=START, hours=NOISE_HOURS, seed=SEED))


def _detect(events: list[Event], pack: list[LoadedRule]) -> dict[str, set[str]]:
    """Rule name -> uids of the events its alerts cover, after one detection pass."""
    store = EventStore.open("sqlite://")
    try:
        store.insert(sorted(events, key=lambda e: e.ts))
        Detector(store, pack, name="library-test").tick()
        with store.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT a.rule_id, e.uid FROM alerts a "
                    "JOIN alert_events ae ON ae.alert_id = a.id "
                    "JOIN events e ON e.id = ae.event_id"
                )
            ).all()
    finally:
        store.close()
    names = {rule.id: rule.name for rule in pack}
    hits: dict[str, set[str]] = defaultdict(set)
    for rule_id, uid in rows:
        hits[names[rule_id]].add(uid)
    return hits


def _stage_uids(outcomes: list[StageOutcome]) -> dict[str, set[str]]:
    by_stage: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        for label in outcome.labels:
            by_stage[label.stage].add(label.uid)
    return by_stage


def _missed(
    scenario: Scenario,
    outcomes: list[StageOutcome],
    hits: dict[str, set[str]],
) -> list[str]:
    """'stage: rule' for every expected detection that did not fire on its stage."""
    by_stage = _stage_uids(outcomes)
    missed = []
    for outcome in outcomes:
        if outcome.status != "fired":
            continue
        stage = scenario.stage(outcome.stage)
        for rule in stage.expect.detections:
            if not hits.get(rule, set()) & by_stage[stage.id]:
                missed.append(f"{stage.id}: {rule}")
    return missed


def _breaking_action(scenario: Scenario, stage: Stage) -> tuple[str, str]:
    """A response breaking ``stage``'s requires that leaves its fallback able to run."""
    fallback = scenario.stage(stage.on_blocked.stage)  # type: ignore[union-attr]
    kept = set(fallback.conditions())
    kinds = scenario.role_kinds()
    for condition, role in stage.conditions():
        if (condition, role) in kept:
            continue
        actions = vocabulary.CONDITIONS[condition].split("|")
        wanted = {"external_ip": "block_ip", "domain": "block_domain"}.get(kinds[role])
        return (wanted if wanted in actions else actions[0]), role
    raise AssertionError(f"{stage.id}: every condition is shared with its fallback")


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_every_stage_raises_its_expected_detections(
    path: Path, org: Organisation, noise: list[Event], pack: list[LoadedRule]
) -> None:
    scenario = load_scenario(path, known_rule_ids={rule.name for rule in pack})
    outcomes = Timeline(scenario, org, SEED, START).run()
    fallbacks = {s.on_blocked.stage for s in scenario.stages if s.on_blocked}
    fired = {o.stage for o in outcomes if o.status == "fired"}
    assert fired == {s.id for s in scenario.stages} - fallbacks

    attack = [event for outcome in outcomes for event in outcome.events]
    hits = _detect(attack + noise, pack)

    assert _missed(scenario, outcomes, hits) == []


@pytest.mark.parametrize("path", FALLBACK_FILES, ids=[p.stem for p in FALLBACK_FILES])
def test_a_blocked_stage_falls_back_and_the_fallback_is_detected(
    path: Path, org: Organisation, pack: list[LoadedRule]
) -> None:
    scenario = load_scenario(path, known_rule_ids={rule.name for rule in pack})
    blocked = [s for s in scenario.stages if s.on_blocked is not None]
    assert blocked
    for stage in blocked:
        free_run = {o.stage: o for o in Timeline(scenario, org, SEED, START).run()}
        action, role = _breaking_action(scenario, stage)
        when = free_run[stage.id].due - 1.0
        timeline = Timeline(scenario, org, SEED, START)
        outcomes = timeline.run([(when, action, role)])
        by_id = {o.stage: o for o in outcomes}
        assert by_id[stage.id].status == "fallback", by_id[stage.id].reason
        assert by_id[stage.on_blocked.stage].status == "fired"  # type: ignore[union-attr]
        attack = [event for outcome in outcomes for event in outcome.events]
        hits = _detect(attack + timeline.response_events, pack)
        assert _missed(scenario, outcomes, hits) == []


def test_background_noise_alone_raises_some_false_positives(
    noise: list[Event], pack: list[LoadedRule]
) -> None:
    hits = _detect(noise, pack)
    noisy_rules = {rule for rule, uids in hits.items() if uids}
    assert noisy_rules, "a realistic baseline trips some of the shipped defaults"
    # ... but not the precise attack rules of the library: those fire on attacks.
    precise = {
        "lsass-minidump-comsvcs",
        "shadow-copy-deletion",
        "ransom-note-created",
        "cryptominer-execution",
        "aws-cloudtrail-tampering",
        "psexec-service-install",
    }
    assert not noisy_rules & precise
