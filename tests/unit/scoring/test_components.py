"""Workflow-accuracy components (B4), damage (B5) and the team score (B6)."""

from __future__ import annotations

import pytest

from scoring import (
    ExerciseClock,
    Precondition,
    RequiredResponse,
    TicketGrade,
    score_exercise,
)
from scoring.assets import asset_score, f_beta
from scoring.attack import attack_score
from scoring.curves import curve_points, time_score
from scoring.settings import DEFAULT_SETTINGS
from scoring.team import readiness_gap, team_score, tes_relative
from tests.unit.scoring.builders import T0, at, exercise, row, stage, stage_of

TP = {"verdict": "tp"}


def test_the_time_curve_halves_every_target_past_the_sla_and_never_rewards_speed():
    assert time_score(0, 30) == time_score(30, 30) == 1.0
    assert time_score(60, 30) == 0.5
    assert time_score(90, 30) == 0.25
    assert time_score(None, 30) == 0.0
    assert [p[1] for p in curve_points(30)][:3] == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="SLA target"):
        time_score(5, 0)


def test_triage_weighs_a_missed_attack_five_times_a_false_alarm():
    alerts = [("atk", 12, "X"), ("ben-1", 13, None), ("ben-2", 14, None)]
    missed = score_exercise(
        exercise([row("a", "verdict", 20, "atk", verdict="benign")], alerts=alerts)
    )
    noisy = score_exercise(
        exercise(
            [
                row("a", "verdict", 20, "atk", **TP),
                row("a", "verdict", 21, "ben-1", **TP),
                row("a", "verdict", 22, "ben-2", verdict="fp"),
            ],
            alerts=alerts,
        )
    )
    # P = 1, N = 2: denominator 5 + 2 = 7.
    assert missed["components"]["triage"] == pytest.approx(1 - (5 + 0.5 * 2) / 7)
    assert noisy["components"]["triage"] == pytest.approx(1 - 1 / 7)
    assert noisy["details"]["triage"]["fp_rate_of_benign"] == 0.5
    assert noisy["details"]["triage"]["fp_share_of_escalations"] == 0.5


def test_the_last_verdict_before_endex_is_the_disposition():
    doc = score_exercise(
        exercise(
            [
                row("a", "verdict", 20, "al-1", verdict="fp"),
                row("b", "verdict", 25, "al-1", **TP),
            ]
        )
    )
    assert doc["details"]["triage"]["tp"] == 1 and doc["details"]["triage"]["fn"] == 0


def _ticket_doc(*updates, grades=()):
    rows = [row("a", "verdict", 20, "al-1", **TP)]
    rows += [
        row("a", "ticket_update", 25 + i, ticket="T", **u)
        for i, u in enumerate(updates)
    ]
    return score_exercise(exercise(rows, ticket_grades=tuple(grades)))


def test_ticket_severity_within_one_tier_of_the_truth_scores_full():
    near = _ticket_doc({"alerts": ["al-1"], "severity": "high"})
    far = _ticket_doc({"alerts": ["al-1"], "severity": "P3"})
    assert near["details"]["report"]["tickets"][0]["fields"]["severity"] == 1.0
    assert far["details"]["report"]["tickets"][0]["fields"]["severity"] == 0.0


def test_remediation_must_name_an_expected_action_class():
    vague = _ticket_doc({"alerts": ["al-1"], "remediation": "Monitor the situation."})
    named = _ticket_doc({"alerts": ["al-1"], "remediation": "Isolate HOST-1 now."})
    picked = _ticket_doc({"alerts": ["al-1"], "remediation_actions": ["isolate_host"]})
    field = lambda d: d["details"]["report"]["tickets"][0]["fields"]["remediation"]  # noqa: E731
    assert (field(vague), field(named), field(picked)) == (0.5, 1.0, 1.0)


def test_a_controller_grade_replaces_the_automatic_field_score():
    doc = _ticket_doc(
        {"alerts": ["al-1"], "analysis": "Looks bad."},
        grades=[TicketGrade("T", "analysis", "M"), TicketGrade("T", "context", "S")],
    )
    fields = doc["details"]["report"]["tickets"][0]["fields"]
    assert fields["analysis"] == 0.33 and fields["context"] == 0.67


def test_a_ticket_covering_no_stage_is_not_an_incident_and_report_is_zero():
    doc = _ticket_doc({"assets": ["UNRELATED-9"], "severity": "P1"})
    report = doc["details"]["report"]
    assert report["tickets"] == [] and report["score"] == 0.0


def test_time_to_report_needs_completeness_and_a_send():
    full = {
        "alerts": ["al-1"],
        "severity": "P1",
        "context": "c",
        "facts": "f",
        "analysis": "a",
        "conclusion": "c",
        "remediation": "isolate",
        "impact": "i",
        "timeline": ["al-1"],
    }
    rows = [
        row("a", "verdict", 20, "al-1", **TP),
        row("a", "ticket_update", 25, ticket="T", alerts=["al-1"], severity="P1"),
        row("a", "report_sent", 26, ticket="T"),  # C = 0.05: too thin to count
        row("a", "ticket_update", 40, ticket="T", **full),
        row("a", "report_sent", 50, ticket="T"),
    ]
    x = stage_of(score_exercise(exercise(rows)))
    assert x["t_rep"] == 50 * 60 and x["ttr"] == 30 * 60
    assert x["scores"]["report"] == 1.0


def test_assets_f2_favours_recall_and_an_empty_report_scores_zero():
    truth = {"a": "A", "b": "B", "c": "C", "d": "D"}
    only_one = asset_score({"a": 0}, truth, {}, skew=60, beta=2)
    assert only_one["score"] == pytest.approx(f_beta(1.0, 0.25, 2))
    assert asset_score({}, truth, {}, skew=60, beta=2)["score"] == 0.0
    assert f_beta(0.0, 0.0, 2) == 0.0


def test_an_asset_reported_before_its_inject_is_not_a_true_positive():
    result = asset_score(
        {"a": 0.0, "b": 500.0},
        {"a": "A", "b": "B"},
        {"a": 100.0, "b": 100.0},
        skew=60,
        beta=2,
    )
    assert result["reported_before_inject"] == ["A"]
    assert result["precision"] == 0.5 and result["recall"] == 0.5


def test_attack_sub_techniques_collapse_and_same_tactic_earns_half():
    catalogue = {"T1003": ("credential-access",), "T1558": ("credential-access",)}
    exact = attack_score(
        {"T1003.001": ("credential-access",)}, ["T1003.006"], catalogue
    )
    sibling = attack_score({"T1003.001": ("credential-access",)}, ["T1558"], catalogue)
    assert exact["score"] == 1.0
    assert sibling["score"] == 0.5
    assert attack_score({"T1003": ()}, [], catalogue)["score"] == 0.0


def test_attack_credit_is_one_to_one():
    catalogue = {"T1041": ("exfiltration",), "T1048": ("exfiltration",)}
    result = attack_score({"T1048": ("exfiltration",)}, ["T1041", "T1048"], catalogue)
    assert result["credit"] == {"T1041": 0.0, "T1048": 1.0}
    assert result["precision"] == 0.5 and result["recall"] == 1.0


def test_collateral_penalties_add_up_and_cap_at_one():
    rows = [row("a", "response", 20, "HOST-1", action="isolate_host")]
    rows += [
        row("a", "response", 21 + i, f"DC-0{i}", action="isolate_host")
        for i in range(6)
    ]
    doc = score_exercise(
        exercise(rows, critical_assets=frozenset(f"DC-0{i}" for i in range(6)))
    )
    response = doc["details"]["response"]
    assert response["collateral_penalty"] == 1.0
    assert response["score"] == 0.0
    small = score_exercise(
        exercise(
            rows[:1] + [row("a", "response", 30, "WS-99", action="disable_account")]
        )
    )
    assert small["details"]["response"]["score"] == pytest.approx(0.95)


def test_nothing_required_means_response_does_not_apply_and_tes_renormalises():
    doc = score_exercise(
        exercise(
            [row("a", "verdict", 20, "al-1", **TP)],
            stages=(stage(responses=(), damage=0.0),),
        )
    )
    assert doc["components"]["response"] is None
    assert doc["components"]["damage_prevented"] is None
    assert set(doc["tes"]["not_applicable"]) == {"response", "damage_prevented"}
    assert sum(doc["tes"]["weights_used"].values()) == pytest.approx(1.0)


def test_team_score_weights_and_par():
    score = team_score(
        {
            "damage_prevented": 1,
            "timeliness": 1,
            "triage": 1,
            "response": 1,
            "report": 0,
        },
        DEFAULT_SETTINGS,
    )
    assert score["tes"] == pytest.approx(75.0)
    assert tes_relative(75.0, [60, 70, 80], DEFAULT_SETTINGS)["tes_rel"] is None
    rel = tes_relative(75.0, [60, 70, 75, 80, 90], DEFAULT_SETTINGS)
    assert rel["par"] == 75 and rel["tes_rel"] == 1.0
    assert readiness_gap([80, 90], [60, 70])["gap"] == 20


def _damage_stages():
    return (
        stage("X", damage=10, unpreventable=True),
        stage(
            "Y",
            entities=("SRV-1",),
            iocs=(),
            damage=30,
            requires=(Precondition("host_online", "HOST-1"),),
            responses=(RequiredResponse("isolate_host", "SRV-1"),),
        ),
        stage(
            "Z",
            entities=("SRV-1",),
            iocs=(),
            damage=0,
            damage_rate=1.0,
            duration=3600,
            requires=(Precondition("host_online", "SRV-1"),),
            responses=(RequiredResponse("isolate_host", "SRV-1"),),
        ),
    )


def test_isolating_the_host_before_the_next_stage_prevents_it():
    rows = [row("a", "response", 15, "HOST-1", action="isolate_host")]
    doc = score_exercise(
        exercise(rows, stages=_damage_stages(), injects={"X": 0, "Y": 30, "Z": 110})
    )
    damage = doc["details"]["damage_prevented"]
    executed = {r["stage"]: r["executed"] for r in damage["stages"]}
    assert executed == {"X": True, "Y": False, "Z": True}
    assert damage["d_real"] == pytest.approx(60)  # Z runs its whole hour
    assert damage["d_max"] == pytest.approx(90)


def test_compression_brings_more_damage_for_the_same_human_speed():
    stages = _damage_stages()
    rows = [row("a", "response", 130, "SRV-1", action="isolate_host")]
    plain = score_exercise(
        exercise(rows, stages=stages, injects={"X": 0, "Y": 30, "Z": 110})
    )
    fast_clock = ExerciseClock.from_transitions(
        T0, [(at(100), "speed", 2.0)], ended_at=at(240)
    )
    # Under 2× compression Z's log lines (simulated time) arrive at the same active
    # minute 110 only if stamped at scenario minute 100 + 2·10 = 120.
    fast = score_exercise(
        exercise(
            rows,
            stages=stages,
            injects={"X": 0, "Y": 30, "Z": 120},
            clock=fast_clock,
        )
    )
    assert fast["exercise"]["c_eff"] > 1.0
    assert (
        fast["details"]["damage_prevented"]["d_real"]
        > plain["details"]["damage_prevented"]["d_real"]
    )
