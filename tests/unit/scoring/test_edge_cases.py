"""Every edge case of B2, one behaviour per test."""

from __future__ import annotations

import pytest

from scoring import score_exercise
from scoring.stats import kaplan_meier_median
from tests.unit.scoring.builders import exercise, row, stage, stage_of

TP = {"verdict": "tp"}


def test_an_undetected_stage_is_censored_and_scores_zero():
    doc = score_exercise(exercise([row("a", "ack", 15, "al-1")]))
    x = stage_of(doc)
    assert not x["detected"]
    assert x["ttd"] is None
    assert x["ttd_censored"] == (240 - 10) * 60
    assert x["scores"] == {"detect": 0.0, "ack": 0.0, "contain": 0.0, "report": 0.0}
    assert x["time_score"] == 0.0
    assert doc["kpis"]["detected"] == {"x": 0, "n": 1}
    assert doc["kpis"]["mttd_km_median"] is None
    assert doc["kpis"]["mttd_display"].startswith("> T_end")


def test_an_undetected_p1_stage_raises_the_immediate_escalation_flag():
    doc = score_exercise(exercise())
    assert doc["flags"]["immediate_escalation"] == ["X"]


def test_team_mttd_is_a_kaplan_meier_median_never_an_imputed_number():
    # Three detected (10, 20, 40 min) and one censored at 30 min: S drops to 0.5
    # at the second event and the censored stage only leaves the risk set.
    assert (
        kaplan_meier_median([600, 1200, 1800, 2400], [True, True, False, True]) == 1200
    )
    assert kaplan_meier_median([600, 1800, 2400], [True, False, False]) is None


def test_a_shared_entity_named_before_the_inject_is_discarded_and_logged():
    doc = score_exercise(
        exercise(
            [
                row("a", "chat", 5, "HOST-1"),
                row("a", "hunt_finding", 6, "HOST-1"),  # L3, before the inject
            ]
        )
    )
    x = stage_of(doc)
    assert not x["detected"]
    assert [link["source"] for link in x["pre_inject_links"]] == [
        "chat",
        "hunt_finding",
    ]
    assert doc["flags"]["integrity_review"] == []


def test_a_false_link_stays_discarded_on_a_ticket_until_it_is_added_again():
    early_ticket = row(
        "a", "ticket_update", 5, ticket="T-1", severity="high", assets=["HOST-1"]
    )
    later_edit = row("a", "ticket_update", 30, ticket="T-1", context="more")
    doc = score_exercise(exercise([early_ticket, later_edit]))
    assert not stage_of(doc)["detected"]
    readded = row("a", "ticket_update", 40, ticket="T-1", assets=["HOST-1", "alice"])
    doc = score_exercise(exercise([early_ticket, later_edit, readded]))
    assert stage_of(doc)["t_det"] == 40 * 60  # alice, added after the inject


def test_a_link_within_the_ingestion_skew_counts_as_detection_at_zero():
    doc = score_exercise(exercise([row("a", "hunt_finding", 9.5, "HOST-1")]))
    x = stage_of(doc)
    assert x["detected"] and x["ttd"] == 0.0
    assert x["pre_inject_links"] == []


@pytest.mark.parametrize("ref", ["evil.example.test", "al-1"])
def test_a_strong_link_before_the_inject_puts_the_stage_under_integrity_review(ref):
    doc = score_exercise(exercise([row("a", "hunt_finding", 2, ref)]))
    assert doc["flags"]["integrity_review"] == ["X"]
    assert stage_of(doc)["status"] == "integrity_review"
    assert doc["components"]["timeliness"] is None  # excluded until reviewed


def test_a_stage_cleared_after_review_is_scored_without_the_early_link():
    doc = score_exercise(
        exercise(
            [
                row("a", "hunt_finding", 2, "evil.example.test"),
                row("a", "verdict", 20, "al-1", **TP),
            ],
            integrity_cleared=frozenset({"X"}),
        )
    )
    x = stage_of(doc)
    assert x["status"] == "scored"
    assert x["t_det"] == 20 * 60
    assert x["integrity_links"][0]["level"] == "L2"


def test_hunting_before_any_alert_moves_the_ack_weight_to_detection():
    doc = score_exercise(
        exercise(
            [
                row("a", "hunt_finding", 11, "evil.example.test"),
                row("a", "response", 100, "HOST-1", action="isolate_host"),
            ]
        )
    )
    x = stage_of(doc)
    assert x["proactive"] and not x["tta_applicable"]
    assert doc["flags"]["proactive"] == ["X"]
    assert x["scores"]["ack"] is None
    # TTD 1 min → 1; TTC 89 min against 60 → 2^(−29/60).
    assert x["time_score"] == pytest.approx(0.6 * 1 + 0.4 * 2 ** (-29 / 60))


def test_a_hunted_stage_without_any_alert_has_no_tta():
    doc = score_exercise(exercise([row("a", "hunt_finding", 20, "HOST-1")], alerts=[]))
    x = stage_of(doc)
    assert x["t_alert"] is None and x["tta"] is None and x["proactive"]


def test_containment_without_detection_earns_containment_credit_only():
    doc = score_exercise(
        exercise([row("ops", "response", 5, "HOST-1", action="isolate_host")])
    )
    x = stage_of(doc)
    assert not x["detected"]
    assert x["contained_without_detection"]
    assert x["scores"]["contain"] == 1.0 and x["scores"]["detect"] == 0.0
    assert x["pre_inject_links"][0]["source"] == "response"


def test_a_ticket_linking_the_contained_stage_afterwards_counts_as_detection():
    doc = score_exercise(
        exercise(
            [
                row("ops", "response", 5, "HOST-1", action="isolate_host"),
                row(
                    "a", "ticket_update", 30, ticket="T", severity="P2", alerts=["al-1"]
                ),
            ]
        )
    )
    x = stage_of(doc)
    assert x["detected"] and x["t_det"] == 30 * 60
    assert x["ttc"] == 0.0


def test_an_exercise_ending_inside_the_containment_window_does_not_judge_ttc():
    doc = score_exercise(
        exercise([row("a", "ack", 225, "al-1"), row("a", "verdict", 230, "al-1", **TP)])
    )
    x = stage_of(doc)
    assert not x["contain_judged"] and x["scores"]["contain"] is None
    # TTD 220 min against 30 → 2^(−190/30); TTA 213 min against 15 → 2^(−198/15).
    detect, ack = 2 ** (-190 / 30), 2 ** (-198 / 15)
    assert x["time_score"] == pytest.approx((0.4 * detect + 0.2 * ack) / 0.6)
    assert doc["kpis"]["contain"]["judged"] == 0


def test_no_containment_after_the_window_scores_zero():
    doc = score_exercise(exercise([row("a", "verdict", 20, "al-1", **TP)]))
    x = stage_of(doc)
    assert x["contain_judged"] and x["scores"]["contain"] == 0.0


def test_the_first_alert_sets_tta_and_queue_mtta_is_reported_per_alert():
    doc = score_exercise(
        exercise(
            [row("a", "ack", 15, "al-2"), row("a", "ack", 30, "al-1")],
            alerts=[("al-1", 12, "X"), ("al-2", 14, "X")],
        )
    )
    x = stage_of(doc)
    assert x["t_alert"] == 12 * 60 and x["t_ack"] == 15 * 60
    assert x["tta"] == 3 * 60
    assert doc["kpis"]["alert_queue_mtta_median"] == pytest.approx((60 + 1080) / 2)


def test_an_action_linked_to_several_stages_is_credited_to_each():
    stages = (stage("X"), stage("Y", entities=("HOST-1",), iocs=()))
    doc = score_exercise(
        exercise(
            [row("a", "response", 30, "HOST-1", action="isolate_host")],
            stages=stages,
            injects={"X": 10, "Y": 20},
        )
    )
    assert stage_of(doc, "X")["t_det"] == stage_of(doc, "Y")["t_det"] == 30 * 60


def test_an_assisted_stage_caps_detection_and_gives_no_skill_points():
    doc = score_exercise(
        exercise(
            [
                row("controller", "hint", 14, "X"),
                row("a", "verdict", 20, "al-1", **TP),
            ]
        )
    )
    x = stage_of(doc)
    assert x["assisted"] and x["scores"]["detect"] == 0.5
    assert doc["flags"]["assisted"] == ["X"]
    points = [p for person in doc["individual"].values() for p in person["points"]]
    assert not [p for p in points if p["item"] in ("X", "al-1")]


def test_a_stage_never_injected_is_left_out_everywhere():
    doc = score_exercise(
        exercise(
            [row("a", "verdict", 20, "al-1", **TP)],
            stages=(stage("X"), stage("Z", tier="P4")),
        )
    )
    assert stage_of(doc, "Z")["status"] == "not_injected"
    assert doc["kpis"]["detected"] == {"x": 1, "n": 1}
    counted = {
        r["stage"]: r["counted"] for r in doc["details"]["damage_prevented"]["stages"]
    }
    assert counted == {"X": True, "Z": False}


def test_actions_after_endex_are_counted_and_ignored():
    doc = score_exercise(exercise([row("a", "verdict", 300, "al-1", **TP)]))
    assert doc["input_notes"]["activity_after_endex"] == 1
    assert not stage_of(doc)["detected"]


def test_on_call_runs_use_the_on_call_sla():
    rows = [row("a", "ack", 37, "al-1"), row("a", "verdict", 38, "al-1", **TP)]
    staffed = stage_of(score_exercise(exercise(rows)))
    on_call = stage_of(score_exercise(exercise(rows, staffing="on_call")))
    assert staffed["scores"]["ack"] < 1.0  # 25 min against 15
    assert on_call["scores"]["ack"] == 1.0  # 25 min against 30


def test_a_later_detection_cannot_escape_the_containment_judgement():
    def detect_at(minute):
        rows = [row("a", "ack", 13, "al-1"), row("a", "verdict", minute, "al-1", **TP)]
        return stage_of(score_exercise(exercise(rows)))

    judged, unjudged = detect_at(179), detect_at(185)
    assert judged["contain_judged"] and not unjudged["contain_judged"]
    assert unjudged["window_cap_applied"]
    assert unjudged["time_score"] <= judged["time_score"]


def test_a_stage_injected_too_late_for_a_full_window_keeps_the_plain_exclusion():
    rows = [row("a", "ack", 203, "al-1"), row("a", "verdict", 205, "al-1", **TP)]
    x = stage_of(
        score_exercise(exercise(rows, injects={"X": 200}, alerts=[("al-1", 201, "X")]))
    )
    assert not x["contain_judged"] and not x["window_cap_applied"]
    assert x["time_score"] == 1.0
