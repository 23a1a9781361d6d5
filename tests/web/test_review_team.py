"""The team lead's view: trends across exercises, readiness gap, skill matrix,
coverage per scope and shift, cohesion; and skill states carried between runs."""

from __future__ import annotations

import pytest

from socdrill.extensions import db
from socdrill.models import ScoreRecord
from tests.web.conftest import Browser
from tests.web.test_review_support import ReviewWorld


@pytest.fixture
def review(app, world) -> ReviewWorld:
    return ReviewWorld(app, world)


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


@pytest.fixture
def two_runs(app, review) -> tuple[int, int]:
    """An announced run of B9, then an unannounced one with half the activity."""
    lead = _signed_in(app, "lead")
    first = review.end(review.world.exercise_a, announced=True)
    assert lead.post(f"/review/exercises/{first.id}/score").status_code == 303
    partial = review.inputs[first.id].activity[:12]
    second = review.new_exercise("Night drill", announced=False, activity=partial)
    assert lead.post(f"/review/exercises/{second.id}/score").status_code == 303
    return first.id, second.id


def test_the_team_view_charts_announced_and_unannounced_runs_apart(
    app, review, two_runs
):
    body = (
        _signed_in(app, "lead")
        .get(f"/api/v1/review/teams/{review.world.team_a.id}")
        .get_json()
    )
    trend = next(t for t in body["tables"] if t["name"] == "trend")
    kinds = [row["kind"] for row in trend["rows"]]
    assert kinds == ["announced", "unannounced"]
    first, second = (row["tes"] for row in trend["rows"])
    assert first == pytest.approx(74.1, abs=0.05) and second < first
    gap = body["readiness_gap"]
    assert gap["gap"] == pytest.approx(first - second, abs=0.1)
    assert gap["runs"] == {"announced": 1, "unannounced": 1}


def test_the_skill_matrix_has_every_analyst_and_scope_with_uncertainty(
    app, review, two_runs
):
    body = (
        _signed_in(app, "lead")
        .get(f"/api/v1/review/teams/{review.world.team_a.id}")
        .get_json()
    )
    matrix = next(t for t in body["tables"] if t["name"] == "skill_matrix")
    people = {row["person"] for row in matrix["rows"]}
    assert {"analyst", "ana2", "ana3"} <= people
    windows = next(
        r
        for r in matrix["rows"]
        if r["person"] == "analyst" and r["scope"] == "windows"
    )
    assert windows["band_low"] < windows["p_med"] < windows["band_high"]
    assert windows["status"] in ("ok", "insufficient evidence", "stale")
    ot = next(
        r for r in matrix["rows"] if r["person"] == "analyst" and r["scope"] == "ot"
    )
    assert ot["status"] == "no evidence"
    # Never a ranking: rows come alphabetically by person, then by scope.
    assert [r["person"] for r in matrix["rows"]] == sorted(
        r["person"] for r in matrix["rows"]
    )


def test_coverage_and_cohesion_are_shown_to_the_lead(app, review, two_runs):
    browser = _signed_in(app, "lead")
    body = browser.get(f"/api/v1/review/teams/{review.world.team_a.id}").get_json()
    coverage = next(t for t in body["tables"] if t["name"] == "coverage")
    assert {row["scope"] for row in coverage["rows"]} >= {"windows", "network", "ot"}
    assert all(isinstance(row["qualified"], int) for row in coverage["rows"])
    cohesion = next(t for t in body["tables"] if t["name"] == "cohesion")
    assert len(cohesion["rows"]) == 2
    assert {"PB", "IS", "HQ", "CS", "KS", "ci"} <= set(cohesion["rows"][0])
    page = browser.get(f"/review/teams/{review.world.team_a.id}").get_data(as_text=True)
    assert 'data-review-chart="trend"' in page and "Readiness gap" in page


def test_skill_states_of_one_run_are_the_priors_of_the_next(app, two_runs):
    first, second = two_runs
    after_first = db.session.get(ScoreRecord, first).document["individual"]["analyst"]
    second_points = db.session.get(ScoreRecord, second).document["individual"][
        "analyst"
    ]["points"]
    triage = next(p for p in second_points if p["cell"] == "windows:triage")
    assert triage["theta_before"] == pytest.approx(
        after_first["skills"]["windows:triage"]["theta"]
    )


def test_team_exports_carry_the_marker(app, review, two_runs):
    browser = _signed_in(app, "lead")
    team = review.world.team_a.id
    response = browser.get(f"/review/teams/{team}/export?table=skill_matrix&format=csv")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("[EXERCISE]")
    json_export = browser.get(f"/review/teams/{team}/export?table=trend&format=json")
    assert json_export.get_json()["marker"] == "[EXERCISE]"
