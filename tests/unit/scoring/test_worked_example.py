"""The worked example (B9) of the scoring specification is a golden test."""

from __future__ import annotations

import orjson
import pytest

from scoring import SPEC_VERSION, score_exercise
from scoring.cohesion import CohesionMeasures, Handoff, cohesion_index
from scoring.settings import DEFAULT_SETTINGS
from scoring.skills import ANY, Opportunity, apply_opportunities, qualified_scopes
from tests.unit.scoring import worked_example as b9

approx = pytest.approx


def published(value: float, decimals: int = 3) -> object:
    """Equal to ``value`` as printed with ``decimals`` places, rounding half up
    (0.7625 is published as 0.763)."""
    return approx(value, abs=0.5 * 10**-decimals + 1e-12)


@pytest.fixture(scope="module")
def document():
    return score_exercise(b9.exercise(), skill_states=b9.a2_prior())


def test_components_match_the_published_numbers(document):
    c = document["components"]
    assert c["timeliness"] == approx(0.945, abs=5e-4)
    assert c["damage_prevented"] == approx(0.556, abs=5e-4)
    assert c["triage"] == approx(0.882, abs=5e-4)
    assert c["report"] == published(0.763)
    assert c["response"] == approx(0.600, abs=5e-4)


def test_team_exercise_score_is_74_1(document):
    assert round(document["tes"]["tes"], 1) == 74.1
    assert document["tes"]["not_applicable"] == []


def test_stage_times_are_the_published_active_minutes(document):
    stages = {s["stage"]: s for s in document["stages"]}
    minutes = {k: {f: stages[k][f] / 60 for f in ("tta", "ttd", "ttc")} for k in stages}
    assert minutes["S1"] == {"tta": 12, "ttd": 40, "ttc": 55}
    assert minutes["S2"] == {"tta": 24, "ttd": 40, "ttc": 50}
    assert minutes["S3"] == {"tta": 2, "ttd": 8, "ttc": 2}
    assert stages["S2"]["scores"]["ack"] == approx(0.660, abs=5e-4)
    assert stages["S2"]["scores"]["detect"] == approx(0.794, abs=5e-4)
    assert stages["S2"]["time_score"] == approx(0.849, abs=5e-4)
    assert stages["S1"]["time_score"] == stages["S3"]["time_score"] == 1.0


def test_the_chat_mention_before_the_inject_is_discarded_and_logged(document):
    logged = [f for f in document["flags"]["pre_inject_link"] if f["stage"] == "S2"]
    assert logged == [
        {"stage": "S2", "ref": "SRV-FS1", "level": "L3", "source": "chat", "t": 1200.0}
    ]
    assert document["flags"]["integrity_review"] == []


def test_damage_ledger(document):
    damage = document["details"]["damage_prevented"]
    assert (damage["d_real"], damage["d_max"]) == approx((40.0, 90.0))
    assert damage["c_eff"] == 1.0


def test_triage_counts(document):
    t = document["details"]["triage"]
    assert (t["attack_alerts"], t["benign_alerts"]) == (9, 31)
    assert (t["fn"], t["fp"], t["unhandled_benign"]) == (1, 3, 2)
    assert t["fp_rate_of_benign"] == approx(3 / 31)
    assert t["fp_share_of_escalations"] == approx(3 / 11)


def test_reporting_parts(document):
    report = document["details"]["report"]
    assert report["completeness"] == approx(0.875)
    assert report["assets"]["precision"] == report["assets"]["recall"] == 0.75
    assert report["assets"]["score"] == approx(0.750)
    assert report["attack"]["recall"] == report["attack"]["precision"] == 0.625
    assert report["attack"]["credit"] == {
        "T1566": 1.0,
        "T1003": 1.0,
        "T1078": 0.0,
        "T1041": 0.5,
    }
    fields = report["tickets"][0]["fields"]
    assert fields["impact"] == fields["timeline"] == 0.5
    assert {k for k, q in fields.items() if q == 1.0} == {
        "context",
        "facts",
        "analysis",
        "conclusion",
        "remediation",
        "severity",
    }


def test_no_flags_and_the_published_aar_seeds(document):
    assert document["flags"]["immediate_escalation"] == []
    findings = [a["finding"] for a in document["aar"]["areas_for_improvement"]]
    for seed in (
        "S2 acknowledgement 9 min over SLA",
        "impact section incomplete",
        "collateral isolation of DC-01",
        "svc_backup missed",
    ):
        assert seed in findings
    # Lowest components come first.
    scores = [a["score"] for a in document["aar"]["areas_for_improvement"]]
    assert scores == sorted(scores)


def test_skill_update_of_the_first_detector(document):
    a2 = document["individual"]["A2"]
    cell = a2["skills"]["windows:credential-access"]
    assert cell["theta"] == approx(0.410, abs=5e-4)
    assert cell["n"] == approx(2.5)
    assert cell["p_med"] == approx(0.60, abs=5e-3)
    assert cell["se"] == approx(1.29, abs=5e-3)
    assert cell["status"] == "insufficient evidence"
    point = next(p for p in a2["points"] if p["cell"] == "windows:credential-access")
    assert point["p"] == approx(0.426, abs=5e-4)
    assert point["k"] == approx(0.571, abs=5e-4)
    assert point["n_before"] == approx(1.5)
    assert {"stage": "S2", "role": "first detector"} in a2["attribution"]


def test_the_single_update_does_not_make_a2_count_for_windows_coverage():
    opportunity = Opportunity(
        "A2", "windows", "credential-access", 0.794, 0.5, 1.0, 0.0, "detection", "S2"
    )
    states, _ = apply_opportunities(
        {
            "A2": {
                ("windows", ANY): b9.a2_prior()["A2"][("windows", "credential-access")]
            }
        },
        [opportunity],
        DEFAULT_SETTINGS,
    )
    assert "windows" not in qualified_scopes(states["A2"], 0.0, DEFAULT_SETTINGS)


def test_cohesion_index_is_71_with_the_turnover_red_flag():
    measures = CohesionMeasures(
        shares=(0.40, 0.20, 0.28, 0.12),
        expected=(0.30, 0.30, 0.25, 0.15),
        collaborative_coverage=2 / 3,
        duplicate_rate=2 / 40,
        propagation_latency=12 * 60,
        handoffs=(Handoff(0.8, 5 * 60), Handoff(0.6, 25 * 60)),
        core=3 / 4,
        turnover_90=0.25,
        pair_familiarity=(4, 4, 3, 0, 0, 0),
        kb_reuse=2 / 3,
        kb_breadth=2 / 4,
        truck_factors={"ot": 1, "windows": 3},
    )
    result = cohesion_index(measures, DEFAULT_SETTINGS)
    c = result["components"]
    assert c["PB"] == approx(0.870, abs=5e-4)
    assert c["IS"] == approx(0.829, abs=5e-4)
    assert c["HQ"] == approx(0.757, abs=5e-4)
    assert c["CS"] == approx(0.460, abs=5e-4)
    assert c["KS"] == approx(0.567, abs=5e-4)
    assert result["familiarity"] == approx(1.83, abs=5e-3)
    assert round(result["ci"], 1) == 71.0
    assert {"flag": "turnover", "value": 0.25} in result["red_flags"]
    assert result["headline"] == (
        "good balance and information flow, but turnover above threshold "
        "and a single point of failure for OT"
    )


def test_the_document_is_versioned_json_and_recomputable(document):
    assert document["scoring_spec_version"] == SPEC_VERSION == "1"
    again = score_exercise(b9.exercise(), skill_states=b9.a2_prior())
    assert orjson.dumps(again) == orjson.dumps(document)
    assert document["settings"]["tes_weights"]["report"] == 0.25
    assert document["input_notes"]["activity_during_pause"] == 1


def test_the_shipped_attack_catalogue_gives_the_same_tagging_score():
    # With the real ATT&CK tactics (T1078 is also Initial Access) the one-to-one
    # credit still yields the published 0.625.
    from simulator.scenario.attack import catalogue

    tactics = {tid: t.tactics for tid, t in catalogue().techniques.items()}
    assert "initial-access" in tactics["T1078"]
    doc = score_exercise(b9.exercise(technique_tactics=tactics))
    assert doc["details"]["report"]["attack"]["score"] == approx(0.625)
    assert round(doc["tes"]["tes"], 1) == 74.1
