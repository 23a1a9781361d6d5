"""The bundled scenario library and rule pack: valid, complete, and consistent.

Every scenario in ``scenarios/`` must pass the validator against the bundled rule pack
and meet the library minimums (stages, ATT&CK ids, tiers, expected detections,
responses, crisis injects, debrief questions). Every rule of the pack must have a
stable uuid, a unique name, and sample events that it matches (positives) and leaves
alone (negatives).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from siem.rules import load_pack, run_pack_tests
from siem.sigma import LoadedRule
from simulator import vocabulary
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario
from simulator.scenario.problems import ScenarioError
from tests.conftest import ROOT

SCENARIO_DIR = ROOT / "scenarios"
RULE_DIR = ROOT / "siem" / "rules"
SAMPLE_DIR = RULE_DIR / "tests"
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.yml"))
RULE_FILES = sorted(p for p in RULE_DIR.rglob("*.yml") if SAMPLE_DIR not in p.parents)
REQUIRED_SCENARIOS = {
    "ransomware-finance",
    "ssh-bruteforce-miner",
    "webshell-db-dump",
    "cloud-key-exfil",
    "mfa-fatigue-bec",
    "insider-exfil",
}
RULE_SCOPES = {"windows", "linux", "network", "cloud", "identity", "email", "web"}


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.fixture(scope="module")
def pack_names() -> set[str]:
    """The slugs scenarios name in ``expect.detections``."""
    return {rule.name for rule in load_pack()}


@pytest.fixture(scope="module")
def library(pack_names: set[str]) -> dict[str, Scenario]:
    return {p.stem: load_scenario(p, known_rule_ids=pack_names) for p in SCENARIO_FILES}


@pytest.fixture(scope="module")
def rule_documents() -> dict[Path, dict[str, Any]]:
    return {p: yaml.safe_load(p.read_text(encoding="utf-8")) for p in RULE_FILES}


# --- scenarios ---------------------------------------------------------------------


def test_library_holds_the_required_scenarios() -> None:
    assert {p.stem for p in SCENARIO_FILES} >= REQUIRED_SCENARIOS


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_scenario_validates_against_the_rule_pack(
    path: Path, pack_names: set[str]
) -> None:
    try:
        scenario = load_scenario(path, known_rule_ids=pack_names)
    except ScenarioError as exc:
        pytest.fail("\n".join(str(p) for p in exc.problems))
    assert scenario.id == path.stem, "the file is named after the scenario id"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_scenario_meets_the_library_minimums(
    path: Path, library: dict[str, Scenario]
) -> None:
    scenario = library[path.stem]
    assert len(scenario.stages) >= 4
    for stage in scenario.stages:
        assert stage.technique, f"{stage.id}: no ATT&CK technique"
        assert stage.tier in vocabulary.TIERS
        assert stage.expect.detections, f"{stage.id}: no expected detection"
        assert stage.entities, f"{stage.id}: no affected entities"
        assert stage.events, f"{stage.id}: leaves no logs"
    assert any(stage.requires for stage in scenario.stages)
    assert any(stage.damage > 0 for stage in scenario.stages)
    assert any(stage.expect.responses for stage in scenario.stages)
    assert scenario.crisis, "no crisis inject"
    assert len(scenario.debrief.questions) >= 3


def test_library_uses_every_crisis_channel(library: dict[str, Scenario]) -> None:
    used = {inject.channel for s in library.values() for inject in s.crisis}
    assert used == set(vocabulary.CRISIS_CHANNELS)


def test_library_has_fallbacks_and_continuous_stages(
    library: dict[str, Scenario],
) -> None:
    stages = [stage for s in library.values() for stage in s.stages]
    assert sum(1 for stage in stages if stage.on_blocked) >= 3
    assert sum(1 for stage in stages if stage.duration) >= 4


def test_library_covers_every_tier(library: dict[str, Scenario]) -> None:
    tiers = {stage.tier for s in library.values() for stage in s.stages}
    assert {"P1", "P2", "P3"} <= tiers


def test_a_scenario_naming_a_rule_outside_the_pack_is_refused(
    pack_names: set[str],
) -> None:
    text = (SCENARIO_DIR / "ssh-bruteforce-miner.yml").read_text(encoding="utf-8")
    broken = text.replace("[ssh-password-login]", "[ssh-pasword-login]", 1)
    assert broken != text
    with pytest.raises(ScenarioError) as caught:
        load_scenario(broken, known_rule_ids=pack_names)
    messages = [p.message for p in caught.value.problems]
    assert any("ssh-pasword-login" in m and "ssh-password-login" in m for m in messages)


# --- rule pack ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_pack() -> dict[str, LoadedRule]:
    return {rule.name: rule for rule in load_pack()}


def test_every_rule_has_a_uuid_and_a_unique_slug_name(
    rule_documents: dict[Path, dict[str, Any]],
) -> None:
    ids = [doc["id"] for doc in rule_documents.values()]
    names = [doc["name"] for doc in rule_documents.values()]
    assert len(set(ids)) == len(ids)
    assert len(set(names)) == len(names)
    for path, doc in rule_documents.items():
        assert uuid.UUID(doc["id"]).version == 4, path
        assert doc["name"].replace("-", "").isalnum() and doc["name"].islower(), path
        assert path.parent.name in RULE_SCOPES, path


def test_every_rule_is_documented_and_tagged(
    rule_documents: dict[Path, dict[str, Any]],
) -> None:
    for path, doc in rule_documents.items():
        for key in ("title", "status", "level", "description", "falsepositives"):
            assert doc.get(key), f"{path.name}: no {key}"
        assert any(t.startswith("attack.t") for t in doc.get("tags", [])), path


def test_pack_loads_every_rule_file(
    pack_names: set[str], rule_documents: dict[Path, dict[str, Any]]
) -> None:
    assert pack_names == {doc["name"] for doc in rule_documents.values()}
    assert {r.id for r in load_pack()} == {d["id"] for d in rule_documents.values()}


def test_every_expected_detection_of_the_library_is_in_the_pack(
    library: dict[str, Scenario], pack_names: set[str]
) -> None:
    expected = {
        rule
        for s in library.values()
        for stage in s.stages
        for rule in stage.expect.detections
    }
    assert expected <= pack_names


def test_pack_ships_deliberately_noisy_defaults(
    rule_documents: dict[Path, dict[str, Any]], library: dict[str, Scenario]
) -> None:
    expected = {
        rule
        for s in library.values()
        for stage in s.stages
        for rule in stage.expect.detections
    }
    noise_only = {d["name"] for d in rule_documents.values()} - expected
    assert {"certutil-usage", "whoami-execution", "windows-failed-logon"} <= noise_only


@pytest.mark.parametrize("path", RULE_FILES, ids=_ids(RULE_FILES))
def test_rule_matches_its_positive_samples_and_no_negative_one(
    path: Path,
    rule_documents: dict[Path, dict[str, Any]],
    loaded_pack: dict[str, LoadedRule],
) -> None:
    name = rule_documents[path]["name"]
    assert name in loaded_pack
    outcomes = run_pack_tests(only=name)
    kinds = {outcome.kind for outcome in outcomes}
    assert kinds == {"positive", "negative"}, f"{name}: needs both kinds of sample"
    failed = [f"{o.kind}[{o.index}]" for o in outcomes if not o.ok]
    assert not failed, f"{name}: wrong verdict for {', '.join(failed)}"
