"""Real SigmaHQ rules, unmodified, recognise every coverable stage of the library.

The whole SigmaHQ rules tree runs over each bundled scenario played the way
``socdrill generate`` plays it (fallback stages by a run that blocks the stage
before them). For every stage, a rule carrying one of its ATT&CK techniques fires
on its events, or every technique has a reason computed from the corpus; the test
prints both. ``missed`` (a rule for the technique reads these logs and a field it
reads is absent from the stage's events) fails.

Small hand-made corpora then check that each reason is what the corpus implies, and
the fidelity of the sensors is checked against the real recorded events.
"""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from siem import realism as rz
from siem.corpus import load_corpus
from siem.sigma import load_rules
from simulator.environment import Organisation
from simulator.scenario import load_scenario
from simulator.sensors import SENSORS, SensorContext
from socdrill.cli import cli
from tests.conftest import REALWORLD, ROOT

SIGMAHQ = REALWORLD / "sigmahq-rules"
REGRESSION = REALWORLD / "sigma-regression"
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yml"))
SEED = 20260301
START = 1772438400.0  # Monday 2026-03-02 08:00 UTC
REASONS = {
    rz.NO_RULE,
    rz.OTHER_LOGSOURCES,
    rz.PUBLIC_INFRASTRUCTURE,
    rz.OTHER_PROCEDURE,
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus():
    assert SIGMAHQ.is_dir(), f"{SIGMAHQ} is missing"
    report = load_corpus(SIGMAHQ)
    assert len(report.rules) > 3000
    return report.rules


@pytest.fixture(scope="module")
def report(corpus):
    return rz.evaluate_library(
        SCENARIO_FILES, corpus, seed=SEED, start=START, noise_minutes=5
    )


def _show(findings: list[rz.StageFinding]) -> None:
    for finding in findings:
        state = "recognised" if finding.recognised else "not covered"
        print(f"{finding.scenario}/{finding.stage} {list(finding.techniques)}: {state}")
        for hit in finding.hits:
            print(f"  {'*' if hit.carries else ' '} {hit.title}")
        for gap in finding.gaps:
            print(f"  - {gap.technique}: {gap.reason}: {gap.detail}")


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_every_coverable_stage_is_recognised_by_a_real_rule(report, path):
    scenario = load_scenario(path)
    mine = [f for f in report.findings if f.scenario == scenario.id]
    _show(mine)
    assert [f.stage for f in mine] == [s.id for s in scenario.stages]
    assert all(f.played for f in mine), "every stage, fallbacks included, is played"
    missed = [f"{f.stage}: {g.detail}" for f in mine if f.missed for g in f.gaps]
    assert missed == []
    for finding in mine:
        if finding.recognised:
            carrying = [h for h in finding.hits if h.carries]
            assert all(h.carries[0] in finding.techniques for h in carrying)
        else:
            assert {g.technique for g in finding.gaps} == set(finding.techniques)
            assert all(g.reason in REASONS and g.detail for g in finding.gaps)


def test_most_stages_of_the_library_are_recognised(report):
    print(report.summary())
    assert len(report.recognised) >= 20
    assert not report.missed


def test_an_uncovered_reason_agrees_with_the_corpus(report, corpus):
    attack = rz.AttackMap.shipped()
    facts = rz.rule_facts(corpus, attack)
    for finding in report.uncovered:
        for gap in finding.gaps:
            carrying = [
                f
                for f in facts
                if any(attack.relation(gap.technique, t) for t in f.techniques)
            ]
            if gap.reason == rz.NO_RULE:
                assert not carrying, gap
                continue
            assert carrying, gap
            on_logs = [
                f
                for f in carrying
                if any(f.rule.applies_to(*t) for t in finding.logsources)
            ]
            assert bool(on_logs) == (gap.reason != rz.OTHER_LOGSOURCES), gap
            if gap.reason == rz.PUBLIC_INFRASTRUCTURE:
                assert all(f.public_only for f in on_logs), gap


def test_the_report_page_is_regenerated_from_the_same_findings(report):
    page = rz.markdown(report, preamble="# Realism")
    for finding in report.findings:
        assert f"| {finding.stage} |" in page
    assert report.summary() in page


# --- ATT&CK ids --------------------------------------------------------------


def test_revoked_techniques_map_to_their_replacements_from_mitre_data():
    attack = rz.AttackMap.shipped()
    assert attack.replaced_by, attack.source
    for old, new in attack.replaced_by.items():
        assert old in attack.catalogue.retired
        assert new in attack.catalogue.techniques
        assert attack.canonical(old) == new
        assert attack.relation(new, old) == "same"


def test_ids_newer_than_the_catalogue_are_reported_not_guessed():
    attack = rz.AttackMap.shipped()
    newer = "T9999.001"
    assert attack.is_unknown(newer)
    assert attack.canonical(newer) is None
    assert attack.relation("T1562.008", newer) is None
    assert attack.relation("T1059.001", "T1059") == "parent"
    assert attack.relation("T1059", "T1059.001") == "sub-technique"
    assert attack.relation("T1059.001", "T1059.003") is None


# --- each reason, on hand-made corpora ----------------------------------------

_RULE = """\
title: {title}
id: {id}
status: test
description: a test rule
author: socdrill tests
date: 2026-01-01
tags:
    - attack.{technique}
logsource:
{logsource}
detection:
{detection}
level: medium
"""
_LINUX_PROCESS = "    product: linux\n    category: process_creation"


def _rule(n: int, technique: str, logsource: str, detection: str) -> str:
    return _RULE.format(
        title=f"rule {n}",
        id=f"00000000-0000-4000-8000-{n:012d}",
        technique=technique.lower(),
        logsource=logsource,
        detection=detection,
    )


@pytest.fixture(scope="module")
def miner_scenario():
    return load_scenario(ROOT / "scenarios" / "ssh-bruteforce-miner.yml")


def _miner_stage(rules_yaml: list[str], miner_scenario, stage_id: str):
    rules = load_rules(rules_yaml).rules
    org = Organisation.build(SEED, "small")
    findings = rz.evaluate_scenario(miner_scenario, org, rules, seed=SEED, start=START)
    return next(f for f in findings if f.stage == stage_id)


def test_a_faithful_event_lets_a_rule_for_the_technique_fire(miner_scenario):
    rule = _rule(
        1,
        "t1105",
        _LINUX_PROCESS,
        "    sel:\n        Image|endswith: '/curl'\n"
        "        CommandLine|contains: ' -o '\n    condition: sel",
    )
    finding = _miner_stage([rule], miner_scenario, "miner-launch")
    assert finding.recognised
    assert finding.hits[0].carries == ("T1105", "same")


def test_a_rule_reading_a_field_the_events_lack_is_a_miss(miner_scenario):
    rule = _rule(
        2,
        "t1105",
        _LINUX_PROCESS,
        "    sel:\n        DownloadSource|contains: 'xmrig'\n    condition: sel",
    )
    finding = _miner_stage([rule], miner_scenario, "miner-launch")
    assert finding.missed
    gap = next(g for g in finding.gaps if g.technique == "T1105")
    assert gap.reason == rz.MISSED and "DownloadSource" in gap.detail


def test_a_rule_for_another_tool_is_another_procedure(miner_scenario):
    rule = _rule(
        3,
        "t1105",
        _LINUX_PROCESS,
        "    sel:\n        Image|endswith: '/aria2c'\n    condition: sel",
    )
    finding = _miner_stage([rule], miner_scenario, "miner-launch")
    gap = next(g for g in finding.gaps if g.technique == "T1105")
    assert gap.reason == rz.OTHER_PROCEDURE and not finding.missed


def test_rules_matching_only_public_pools_are_public_infrastructure(miner_scenario):
    rule = _rule(
        4,
        "t1496",
        "    category: dns",
        "    sel:\n        query|contains:\n            - 'pool.minexmr.com'\n"
        "            - 'xmr.2miners.com'\n    condition: sel",
    )
    finding = _miner_stage([rule], miner_scenario, "mining")
    assert [g.reason for g in finding.gaps] == [rz.PUBLIC_INFRASTRUCTURE]


def test_rules_on_other_logs_and_no_rules_are_told_apart(miner_scenario):
    rule = _rule(
        5,
        "t1496",
        "    product: windows\n    category: process_creation",
        "    sel:\n        Image|endswith: '\\xmrig.exe'\n    condition: sel",
    )
    mining = _miner_stage([rule], miner_scenario, "mining")
    assert [g.reason for g in mining.gaps] == [rz.OTHER_LOGSOURCES]
    assert "windows/process_creation" in mining.gaps[0].detail
    brute = _miner_stage([rule], miner_scenario, "brute-force")
    assert [g.reason for g in brute.gaps] == [rz.NO_RULE]


# --- reading `socdrill generate` output, and bad input --------------------------


def test_a_generated_log_is_evaluated_from_its_truth_file(tmp_path):
    logs, truth = tmp_path / "logs.ndjson", tmp_path / "truth.ndjson"
    scenario = str(ROOT / "scenarios" / "cloud-key-exfil.yml")
    generate = [
        "generate",
        *("--scenario", scenario, "--seed", str(SEED), "--hours", "0.2"),
        *("--org-size", "small", "--out", str(logs), "--truth", str(truth)),
    ]
    result = CliRunner().invoke(cli, generate)
    assert result.exit_code == 0, result.output
    # the CloudTrail rules of the corpus are enough for a CloudTrail-only attack
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for found in (SIGMAHQ / "cloud" / "aws" / "cloudtrail").glob("*.yml"):
        (corpus / found.name).write_bytes(found.read_bytes())
    realism = ["rules", "realism", str(corpus), "--scenarios", scenario]
    result = CliRunner().invoke(
        cli, [*realism, "--logs", str(logs), "--truth", str(truth)]
    )
    print(result.output)
    assert result.exit_code == 0, result.output
    assert "cloud-key-exfil/key-validation [T1078.004, T1087.004]: recognised" in (
        result.output
    )


def test_a_malformed_generated_log_is_refused_with_its_line(tmp_path):
    logs, truth = tmp_path / "logs.ndjson", tmp_path / "truth.ndjson"
    logs.write_text('{"uid": "a"}\n', encoding="utf-8")
    truth.write_text("", encoding="utf-8")
    with pytest.raises(rz.RealismError, match=r"logs.ndjson:1: not an event record"):
        rz.read_generated(logs, truth)
    logs.write_text("", encoding="utf-8")
    truth.write_text("not json\n", encoding="utf-8")
    with pytest.raises(rz.RealismError, match=r"truth.ndjson:1: not a label record"):
        rz.read_generated(logs, truth)


def test_bad_options_are_refused_with_the_reason(tmp_path):
    realism = ["rules", "realism", str(tmp_path)]
    result = CliRunner().invoke(cli, [*realism, "--logs", __file__])
    assert result.exit_code != 0
    assert "--logs and --truth go together" in result.output
    result = CliRunner().invoke(cli, [*realism, "--start", "yesterday"])
    assert result.exit_code != 0 and "ISO-8601" in result.output
    with pytest.raises(rz.RealismError, match="no scenario file or folder"):
        rz.load_scenario_paths([tmp_path / "missing.yml"])
    with pytest.raises(rz.RealismError, match="do not fit"):
        rz.day_windows(START, every_hours=1, minutes=90)


# --- sensor fidelity against real recorded events -------------------------------


def _recorded() -> dict[tuple[str, int], list[dict]]:
    found: dict[tuple[str, int], list[dict]] = {}
    decoder = json.JSONDecoder()
    for path in sorted(REGRESSION.glob("*/events.json")):
        text, i = path.read_text(encoding="utf-8-sig"), 0
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                break
            obj, i = decoder.raw_decode(text, i)
            system = obj["Event"]["System"]
            key = (system["Channel"], int(system["EventID"]))
            found.setdefault(key, []).append(obj["Event"])
    return found


def test_every_recorded_event_id_is_covered_by_the_sensor_fidelity_test():
    from tests.unit.sensors.test_fidelity import CASES

    recorded = _recorded()
    assert recorded
    assert set(recorded) == set(CASES), "every channel and EventID recorded"


@pytest.mark.parametrize(
    ("event_id", "kind"),
    [(1, "linux_process_creation"), (11, "linux_file_event")],
)
def test_sysmon_for_linux_carries_the_names_real_sysmon_records_carry(event_id, kind):
    real = _recorded()[("Microsoft-Windows-Sysmon/Operational", event_id)]
    org = Organisation.build(SEED, "small")
    host = org.hosts_where(kind="linux")[0]
    event = SENSORS["sysmon"].event(
        uid="t",
        ts=START,
        kind=kind,
        host=host,
        values={},
        ctx=SensorContext(org, random.Random(1)),
    )
    for recorded in real:
        names = set(recorded["EventData"])
        share = len(names & set(event.fields)) / len(names)
        assert share >= 0.9, sorted(names - set(event.fields))


def test_sysmon_for_linux_is_refused_on_a_windows_host():
    org = Organisation.build(SEED, "small")
    workstation = org.hosts_where(kind="workstation")[0]
    with pytest.raises(ValueError, match="Sysmon for Linux"):
        SENSORS["sysmon"].event(
            uid="t",
            ts=START,
            kind="linux_process_creation",
            host=workstation,
            values={},
            ctx=SensorContext(org, random.Random(1)),
        )
