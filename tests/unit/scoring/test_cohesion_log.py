"""B8 measured from the log: team level only, metadata only."""

from __future__ import annotations

import orjson
import pytest

from scoring import KbArticle, TeamHistory, TeamMember, score_exercise
from scoring.cohesion import CohesionMeasures, Handoff, cohesion_index, pair_familiarity
from scoring.settings import DEFAULT_SETTINGS
from tests.unit.scoring.builders import at, exercise, row

TEAM = (TeamMember("ann", "L1"), TeamMember("bob", "L1"), TeamMember("cy", "lead"))


def _cohesion(rows, **kw):
    return score_exercise(exercise(rows, team=TEAM, **kw))["cohesion"]


def test_balanced_work_by_role_gives_full_participation_balance():
    rows = [row("ann", "ack", 20 + i, "al-1") for i in range(6)]
    rows += [row("bob", "ack", 40 + i, "al-1") for i in range(6)]
    rows += [row("cy", "ack", 60 + i, "al-1") for i in range(3)]
    assert _cohesion(rows)["components"]["PB"] == pytest.approx(1.0)


def test_participation_needs_two_present_members():
    team = (TeamMember("ann", "L1"), TeamMember("bob", "L1", present_seconds=0))
    doc = score_exercise(exercise([row("ann", "ack", 20, "al-1")], team=team))
    assert doc["cohesion"]["components"]["PB"] is None


def test_independent_duplicate_work_is_counted_and_a_hand_off_prevents_it():
    dup = [
        row("ann", "ack", 20, "al-1"),
        row("bob", "verdict", 30, "al-1", verdict="tp"),
    ]
    shared = [
        row("ann", "ack", 20, "al-1"),
        row("ann", "handoff", 22, to="bob", items=["al-1"], note={"status": True}),
        row("bob", "verdict", 30, "al-1", verdict="tp"),
    ]
    assert _cohesion(dup)["components"]["IS"] < _cohesion(shared)["components"]["IS"]


def test_a_dropped_hand_off_item_zeroes_that_hand_offs_completeness():
    note = {"open_items": True, "status": True, "iocs": True, "next_step": True}
    kept = [
        row("ann", "handoff", 20, to="bob", items=["al-1"], note=note),
        row("bob", "ack", 25, "al-1"),
    ]
    dropped = [row("ann", "handoff", 20, to="bob", items=["al-1"], note=note)]
    assert _cohesion(kept)["components"]["HQ"] == pytest.approx(1.0)
    assert _cohesion(dropped)["components"]["HQ"] == pytest.approx(0.0)


def test_core_stability_raises_the_turnover_flag_from_the_roster_history():
    history = TeamHistory(
        roster_90_days_ago=("ann", "bob", "cy", "dee"),
        past_exercises=(("ann", "bob"), ("ann", "bob", "cy"), ("ann", "bob", "cy")),
    )
    result = _cohesion([row("ann", "ack", 20, "al-1")], team_history=history)
    assert {"flag": "turnover", "value": 0.25} in result["red_flags"]
    # ann and bob were in all three past runs, cy in two: all present now.
    assert result["components"]["CS"] == pytest.approx(
        0.4 * 1.0 + 0.3 * (1 - 0.25 / 0.3) + 0.3 * (7 / 3) / 5
    )


def test_knowledge_truck_factor_counts_recent_article_authors_and_qualified_people():
    kb = (
        KbArticle(
            "kb-1",
            "windows",
            (("ann", at(0) - 10 * 86400), ("bob", at(0) - 400 * 86400)),
        ),
    )
    result = _cohesion([row("ann", "ack", 20, "al-1")], kb_articles=kb)
    assert result["truck_factors"]["windows"] == 1
    assert {"flag": "single_point_of_failure", "scope": "windows"} in result[
        "red_flags"
    ]


def test_cohesion_never_names_a_person():
    history = TeamHistory(("ann", "bob", "cy"), (("ann", "bob", "cy"),))
    rows = [
        row("ann", "ack", 20, "al-1"),
        row("bob", "chat", 21, "HOST-1", mentions=["cy"]),
    ]
    text = orjson.dumps(_cohesion(rows, team_history=history)).decode()
    for name in ("ann", "bob", "cy"):
        assert name not in text


def test_missing_components_are_dropped_and_the_weights_renormalised():
    result = cohesion_index(
        CohesionMeasures(handoffs=(Handoff(1.0, 60.0),)), DEFAULT_SETTINGS
    )
    assert result["ci"] == pytest.approx(100.0)
    assert result["components"]["PB"] is None


def test_pair_familiarity_adds_shared_incidents():
    assert pair_familiarity(["a", "b"], [("a", "b"), ("a",)], [("b", "a", 2)]) == (3.0,)
