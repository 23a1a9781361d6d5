"""The HR rules on pages, the API and exports: who receives which part of a score."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from socdrill.extensions import db
from socdrill.models import AuditEntry, Job, Role
from tests.web.conftest import Browser, make_user
from tests.web.test_review_support import ReviewWorld


@pytest.fixture
def review(app, world) -> ReviewWorld:
    return ReviewWorld(app, world)


@pytest.fixture
def scored(app, review) -> int:
    exercise = review.end(review.world.exercise_a)
    lead = _signed_in(app, "lead")
    assert lead.post(f"/review/exercises/{exercise.id}/score").status_code == 303
    return exercise.id


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def _audits(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
    )


def test_an_analyst_receives_only_their_own_individual_data_and_no_cohesion(
    app, scored
):
    browser = _signed_in(app, "analyst")
    body = browser.get(f"/api/v1/review/exercises/{scored}").get_json()
    document = body["document"]
    assert body["audience"] == "analyst"
    assert set(document["individual"]) == {"analyst"}
    assert "cohesion" not in document and "coverage" not in document
    names = {t["name"] for t in body["tables"]}
    assert "cohesion" not in names and "coverage" not in names
    points = next(t for t in body["tables"] if t["name"] == "points")
    assert points["rows"] and {r["person"] for r in points["rows"]} == {"analyst"}
    page = browser.get(f"/review/exercises/{scored}").get_data(as_text=True)
    assert "ana2" not in page and "ana3" not in page
    assert 'id="cohesion"' not in page and "truck" not in page


def test_an_analysts_exports_carry_only_their_own_rows(app, scored):
    browser = _signed_in(app, "analyst")
    response = browser.get(f"/review/exercises/{scored}/export?table=points&format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0].startswith("[EXERCISE]")
    people = {row[0] for row in rows[2:]}
    assert people == {"analyst"}
    for table in ("cohesion", "coverage"):
        refused = browser.get(
            f"/review/exercises/{scored}/export?table={table}&format=json"
        )
        assert refused.status_code == 422
    api = browser.get(f"/api/v1/review/exercises/{scored}/export?table=cohesion")
    assert api.status_code == 422
    assert api.get_json()["error"]["fields"] == {"table": "unknown table"}


def test_an_analysts_own_view_never_names_a_colleague(app, scored):
    browser = _signed_in(app, "analyst")
    body = browser.get("/api/v1/review/me").get_json()
    assert body["person"] == "analyst"
    exercise = body["exercises"][0]
    assert {r["person"] for r in exercise["points"]["rows"]} == {"analyst"}
    assert {r["person"] for r in body["skills"]["rows"]} == {"analyst"}
    page = browser.get("/review/me").get_data(as_text=True)
    assert "ana2" not in page and "cohesion" not in page.lower()


def test_an_analyst_reaches_neither_the_team_nor_the_hr_view(app, review, scored):
    browser = _signed_in(app, "analyst")
    team = review.world.team_a.id
    assert browser.get(f"/review/teams/{team}").status_code == 403
    assert browser.get(f"/api/v1/review/teams/{team}").status_code == 403
    assert browser.get("/review/hr").status_code == 403
    assert browser.get("/api/v1/review/hr").status_code == 403


def test_a_manager_sees_the_team_profile_and_cohesion_but_no_individual(app, scored):
    body = (
        _signed_in(app, "manager").get(f"/api/v1/review/exercises/{scored}").get_json()
    )
    assert "individual" not in body["document"]
    assert "cohesion" in body["document"]
    assert not {"points", "skills"} & {t["name"] for t in body["tables"]}


def test_the_lead_sees_every_individual_and_the_read_is_audited(app, scored):
    body = _signed_in(app, "lead").get(f"/api/v1/review/exercises/{scored}").get_json()
    assert {"analyst", "ana2", "ana3"} <= set(body["document"]["individual"])
    reads = _audits("review.read")
    assert reads, "reading individual data writes an audit row"
    assert "individual" in reads[-1].detail["sections"]
    assert "ana2" in reads[-1].detail["subjects"]


def test_a_participants_own_read_is_audited_too(app, scored):
    _signed_in(app, "analyst").get(f"/review/exercises/{scored}")
    read = _audits("review.read")[-1]
    assert read.actor_name == "analyst" and read.detail["subjects"] == ["analyst"]


def test_hr_never_opens_a_debrief(app, scored):
    browser = _signed_in(app, "hr")
    assert browser.get(f"/review/exercises/{scored}").status_code == 403
    assert browser.get(f"/api/v1/review/exercises/{scored}").status_code == 403


def test_hr_sees_no_aggregate_and_no_individual_below_five_people(app, review, scored):
    browser = _signed_in(app, "hr")
    body = browser.get("/api/v1/review/hr").get_json()
    team = next(t for t in body["teams"] if t["team"] == "Team A")
    assert team["people_in_scope"] == 4
    assert team["aggregated"] is False and "at least 5 people" in team["reason"]
    assert [t["name"] for t in team["tables"]] == ["coverage"]
    page = browser.get("/review/hr").get_data(as_text=True)
    for name in ("analyst", "ana2", "ana3"):
        assert f">{name}<" not in page
    refused = browser.post_json(
        "/api/v1/review/hr/requests",
        {
            "username": "ana2",
            "reason": "staffing plan for the OT on-call rota next quarter",
            "reviewer": "manager",
        },
    )
    assert refused.status_code == 422
    assert "below" in refused.get_json()["error"]["message"]
    assert not _audits("review.hr_individual_request")


def test_hr_sees_aggregates_from_five_people_and_a_justified_profile(
    app, review, scored
):
    make_user("ana4", Role.ANALYST, team=review.world.team_a, job=Job.L3_RESPONSE)
    browser = _signed_in(app, "hr")
    body = browser.get("/api/v1/review/hr").get_json()
    team = next(t for t in body["teams"] if t["team"] == "Team A")
    assert team["aggregated"] is True
    names = [t["name"] for t in team["tables"]]
    assert {"trend", "skill_aggregates", "coverage", "cohesion"} <= set(names)
    aggregates = next(t for t in team["tables"] if t["name"] == "skill_aggregates")
    assert all("person" not in row for row in aggregates["rows"])
    granted = browser.post_json(
        "/api/v1/review/hr/requests",
        {
            "username": "ana2",
            "reason": "development plan agreed with the analyst in the annual review",
            "reviewer": "manager",
        },
    )
    assert granted.status_code == 200, granted.get_json()
    profile = granted.get_json()
    assert {r["person"] for r in profile["skills"]["rows"]} == {"ana2"}
    request = _audits("review.hr_individual_request")[-1]
    assert request.detail["reviewer"] == "manager"
    assert "annual review" in request.detail["reason"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"username": "ana2", "reason": "too short", "reviewer": "manager"},
            "body.reason",
        ),
        ({"username": "ana2", "reason": "x" * 30}, "body.reviewer"),
        ({"username": "ana2", "reason": "x" * 30, "reviewer": "hr"}, "reviewer"),
        ({"username": "nobody", "reason": "x" * 30, "reviewer": "manager"}, "username"),
        (
            {"username": "analyst-b", "reason": "x" * 30, "reviewer": "manager"},
            "username",
        ),
        (
            {
                "username": "ana2",
                "reason": "x" * 30,
                "reviewer": "manager",
                "all": True,
            },
            "body.all",
        ),
    ],
)
def test_a_malformed_hr_request_is_refused_and_not_logged(
    app, review, scored, body, field
):
    make_user("ana4", Role.ANALYST, team=review.world.team_a, job=Job.L3_RESPONSE)
    response = _signed_in(app, "hr").post_json("/api/v1/review/hr/requests", body)
    assert response.status_code in (404, 422)
    assert field in response.get_json()["error"]["fields"]
    assert not _audits("review.hr_individual_request")


def test_every_review_answer_is_never_cached(app, review, scored):
    lead = _signed_in(app, "lead")
    team = review.world.team_a.id
    for url in (
        f"/review/exercises/{scored}",
        f"/review/exercises/{scored}/report",
        f"/review/exercises/{scored}/export?table=points&format=csv",
        f"/api/v1/review/exercises/{scored}",
        f"/api/v1/review/exercises/{scored}/export?table=skills&format=json",
        f"/review/teams/{team}",
        f"/api/v1/review/teams/{team}",
        "/review/me",
        "/api/v1/review/me",
    ):
        response = lead.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    hr = _signed_in(app, "hr")
    for url in ("/review/hr", "/api/v1/review/hr"):
        assert hr.get(url).headers["Cache-Control"] == "no-store"


def test_a_lead_of_another_team_gets_404_for_the_team_view(app, review, scored):
    make_user("lead-b", Role.LEAD, team=review.world.team_b, job=Job.LEAD)
    browser = _signed_in(app, "lead-b")
    assert browser.get(f"/review/teams/{review.world.team_a.id}").status_code == 404
    assert browser.get(f"/review/exercises/{scored}").status_code == 404


def test_exporting_individual_data_is_audited(app, scored):
    browser = _signed_in(app, "analyst")
    browser.get(f"/review/exercises/{scored}/export?table=points&format=json")
    read = _audits("review.read")[-1]
    assert read.detail["surface"] == "export points"
    assert read.detail["subjects"] == ["analyst"]
