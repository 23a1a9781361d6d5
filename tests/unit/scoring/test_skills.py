"""B7 skill model: Elo step, decay, pooling, display states, coverage."""

from __future__ import annotations

import pytest

from scoring.settings import DAY, DEFAULT_SETTINGS
from scoring.skills import (
    ANY,
    Opportunity,
    SkillState,
    apply_opportunities,
    calibrate_item,
    coverage,
    decayed,
    display,
    prior,
    update,
)

S = DEFAULT_SETTINGS


def test_evidence_halves_every_180_days_and_the_mean_stays():
    assert decayed(3.0, 180 * DAY, S) == pytest.approx(1.5)
    y = 2 ** (-10 / 30)  # S(TTD = 40 min; T = 30)
    new, detail = update(SkillState(0.2, 3.0, 0.0), y, 0.5, 1.0, 180 * DAY, S)
    assert detail["n_before"] == pytest.approx(1.5)
    assert detail["theta_before"] == 0.2
    assert new.theta == pytest.approx(0.410, abs=5e-4)


def test_more_evidence_means_smaller_steps():
    weak, _ = update(SkillState(0.0, 0.0), 1.0, 0.0, 1.0, 0.0, S)
    strong, _ = update(SkillState(0.0, 20.0, 0.0), 1.0, 0.0, 1.0, 0.0, S)
    assert weak.theta > strong.theta > 0


def test_a_new_cell_starts_from_the_analysts_roll_ups():
    mine = {
        ("linux", ANY): SkillState(1.0, 5),
        (ANY, "persistence"): SkillState(0.0, 4),
    }
    assert prior(mine, ("linux", "persistence"), []).theta == 0.5
    only_scope = {("linux", ANY): SkillState(0.8, 5)}
    assert prior(only_scope, ("linux", "persistence"), []).theta == 0.8
    assert (
        prior(
            {}, ("linux", "persistence"), [SkillState(1.0, 3), SkillState(0.0, 3)]
        ).theta
        == 0.5
    )
    assert prior({}, ("linux", "persistence"), []) == SkillState(0.0, 0.0)


def test_display_states_insufficient_evidence_and_stale():
    fresh = display(SkillState(1.0, 10.0, 0.0), 30 * DAY, S)
    assert (
        fresh["status"] == "ok" and fresh["band"][0] < fresh["p_med"] < fresh["band"][1]
    )
    assert (
        display(SkillState(1.0, 2.0, 0.0), 0.0, S)["status"] == "insufficient evidence"
    )
    old = display(SkillState(1.0, 40.0, 0.0), 400 * DAY, S)
    assert old["stale"] and old["status"] == "stale"
    assert display(SkillState(0.0, 0.0), 0.0, S)["se"] == S.se_cap


def test_triage_points_stay_in_their_own_cell():
    opps = [
        Opportunity("a", "windows", "triage", 1.0, -1.0, 1.0, 0.0, "triage", f"b{i}")
        for i in range(30)
    ]
    states, record = apply_opportunities({}, opps, S)
    assert set(states["a"]) == {("windows", "triage")}
    assert len(record) == 30


def test_coverage_counts_qualified_analysts_per_shift_and_alerts_below_two():
    good = SkillState(2.0, 5.0, 0.0)
    states = {
        "a": {("ot", ANY): good, ("windows", ANY): good},
        "b": {("windows", ANY): good},
        "c": {("ot", ANY): SkillState(2.0, 1.0, 0.0)},  # too little evidence
    }
    result = coverage(
        states, {"day": ["a", "b", "c"], "night": ["c"]}, ["ot", "windows"], 0.0, S
    )
    assert result["counts"] == {
        "ot": {"day": 1, "night": 0},
        "windows": {"day": 2, "night": 0},
    }
    assert {(a["scope"], a["shift"]) for a in result["below_target"]} == {
        ("ot", "day"),
        ("ot", "night"),
        ("windows", "night"),
    }


def test_item_difficulty_moves_only_after_enough_attempts():
    assert calibrate_item(0.75, 5, 1.0, 0.4, S) == 0.75
    assert calibrate_item(0.75, 20, 1.0, 0.4, S) < 0.75
