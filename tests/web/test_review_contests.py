"""My view and contests: an analyst sees every point with its reason and can
contest it; the team's lead resolves the contest, and an upheld one corrects the
score."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from socdrill.extensions import db
from socdrill.models import AuditEntry, Contest, ScoreRecord
from tests.web.conftest import Browser, row_counts
from tests.web.test_review_support import ReviewWorld


@pytest.fixture
def review(app, world) -> ReviewWorld:
    return ReviewWorld(app, world)


@pytest.fixture
def scored(app, review) -> int:
    exercise = review.end(review.world.exercise_a)
    assert _signed_in(app, "lead").post(f"/review/exercises/{exercise.id}/score")
    return exercise.id


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def test_my_view_shows_my_timeline_and_each_point_with_its_justification(app, scored):
    page = _signed_in(app, "analyst").get("/review/me").get_data(as_text=True)
    assert "My timeline" in page
    assert "verdict" in page and "a-s1-1" in page  # a recorded action of mine
    # The point for detecting S1 names outcome, expectation, difficulty and weight.
    assert "detection of stage S1: outcome y=1.00 against expected p=0.50" in page
    assert "First detector" in page or "first detector" in page


def test_a_contest_is_logged_and_an_upheld_one_corrects_the_score(app, scored):
    analyst = _signed_in(app, "analyst")
    response = analyst.post_json(
        f"/api/v1/review/exercises/{scored}/contests",
        {"item": "ticket INC-1", "reason": "The impact section names the file server."},
    )
    assert response.status_code == 201, response.get_json()
    contest_id = response.get_json()["id"]
    assert db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "review.contest")
    )
    before = db.session.get(ScoreRecord, scored).document
    lead = _signed_in(app, "lead")
    page = lead.get(f"/review/exercises/{scored}").get_data(as_text=True)
    assert "Resolve the contest of analyst" in page
    response = lead.post(
        f"/review/exercises/{scored}/contests/resolve",
        {
            "id": str(contest_id),
            "decision": "upheld",
            "resolution": "Agreed: the impact names the affected service.",
            "correction_kind": "grade",
            "correction_ticket": "INC-1",
            "correction_section": "impact",
            "correction_grade": "P",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    contest = db.session.get(Contest, contest_id)
    assert contest.status.value == "upheld"
    assert contest.correction["grade"] == "P"
    record = db.session.get(ScoreRecord, scored)
    assert record.revision == 2
    report = record.document["details"]["report"]
    assert report["completeness"] > before["details"]["report"]["completeness"]
    mine = analyst.get("/api/v1/review/me").get_json()
    assert mine["exercises"][0]["contests"][0]["status"] == "upheld"


def test_a_rejected_contest_changes_no_score_and_cannot_be_resolved_twice(app, scored):
    analyst = _signed_in(app, "analyst")
    contest_id = analyst.post_json(
        f"/api/v1/review/exercises/{scored}/contests",
        {"item": "detection S1", "reason": "I detected it before the alert fired."},
    ).get_json()["id"]
    lead = _signed_in(app, "lead")
    body = {
        "id": contest_id,
        "decision": "rejected",
        "resolution": "The alert came first.",
    }
    response = lead.post_json(
        f"/api/v1/review/exercises/{scored}/contests/resolve", body
    )
    assert response.status_code == 200
    assert response.get_json()["revision"] is None
    assert db.session.get(ScoreRecord, scored).revision == 1
    again = lead.post_json(f"/api/v1/review/exercises/{scored}/contests/resolve", body)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"item": "detection S9", "reason": "a long enough reason"}, "item"),
        ({"item": "ticket INC-1", "reason": "short"}, "body.reason"),
        (
            {
                "item": "ticket INC-1",
                "reason": "a long enough reason",
                "status": "upheld",
            },
            "body.status",
        ),
        ({"reason": "a long enough reason"}, "body.item"),
    ],
)
def test_a_malformed_contest_is_refused_and_changes_nothing(app, scored, body, field):
    analyst = _signed_in(app, "analyst")
    before = row_counts()
    response = analyst.post_json(f"/api/v1/review/exercises/{scored}/contests", body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert row_counts() == before


def test_a_colleagues_point_cannot_be_contested(app, scored):
    # ana2 first detected S2: "detection S2" is not among the analyst's points.
    response = _signed_in(app, "analyst").post_json(
        f"/api/v1/review/exercises/{scored}/contests",
        {"item": "response WS-12", "reason": "a long enough reason here"},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": 1, "decision": "maybe", "resolution": "x"}, "body.decision"),
        (
            {
                "id": 1,
                "decision": "rejected",
                "resolution": "x",
                "correction": {
                    "kind": "grade",
                    "ticket": "INC-1",
                    "section": "impact",
                    "grade": "P",
                },
            },
            "body",
        ),
        (
            {
                "id": 1,
                "decision": "upheld",
                "resolution": "x",
                "correction": {"kind": "grade", "ticket": "INC-1"},
            },
            "body.correction",
        ),
        (
            {
                "id": 1,
                "decision": "upheld",
                "resolution": "x",
                "correction": {"kind": "integrity", "stage": "S1"},
            },
            "stage",
        ),
        ({"id": 77, "decision": "upheld", "resolution": "x"}, "id"),
    ],
)
def test_a_malformed_resolution_is_refused_and_changes_nothing(
    app, scored, body, field
):
    _signed_in(app, "analyst").post_json(
        f"/api/v1/review/exercises/{scored}/contests",
        {"item": "ticket INC-1", "reason": "a long enough reason"},
    )
    lead = _signed_in(app, "lead")
    before = row_counts()
    response = lead.post_json(
        f"/api/v1/review/exercises/{scored}/contests/resolve", body
    )
    assert response.status_code in (404, 422), response.get_json()
    assert any(k.startswith(field) for k in response.get_json()["error"]["fields"])
    assert row_counts() == before
    assert db.session.get(Contest, 1).status.value == "open"


def test_only_a_lead_resolves_contests(app, scored):
    for username in ("analyst", "manager", "admin"):
        response = _signed_in(app, username).post_json(
            f"/api/v1/review/exercises/{scored}/contests/resolve",
            {"id": 1, "decision": "rejected", "resolution": "no"},
        )
        assert response.status_code == 403, username


def test_a_lead_cannot_resolve_their_own_contest(app, scored):
    lead = _signed_in(app, "lead")
    contest = lead.post_json(
        f"/api/v1/review/exercises/{scored}/contests",
        {"item": "stage S1", "reason": "the report was sent before the pause"},
    )
    assert contest.status_code == 201, contest.get_json()
    response = lead.post_json(
        f"/api/v1/review/exercises/{scored}/contests/resolve",
        {"id": contest.get_json()["id"], "decision": "upheld", "resolution": "mine"},
    )
    assert response.status_code == 409
    assert db.session.get(Contest, contest.get_json()["id"]).status.value == "open"
