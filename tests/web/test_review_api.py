"""The review API: documented in the OpenAPI document, validated by its schemas,
protected like every other route (CSRF, the allow-table, tenant scope)."""

from __future__ import annotations

import pytest

from socdrill import rbac
from socdrill.models import Role
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


def test_the_openapi_document_describes_the_review_api(client):
    document = client.get("/api/openapi.json").get_json()
    paths = document["paths"]
    for path, method in (
        ("/api/v1/review/exercises/{exercise_id}", "get"),
        ("/api/v1/review/exercises/{exercise_id}/grades", "post"),
        ("/api/v1/review/exercises/{exercise_id}/actions", "patch"),
        ("/api/v1/review/exercises/{exercise_id}/contests/resolve", "post"),
        ("/api/v1/review/me", "get"),
        ("/api/v1/review/teams/{team_id}", "get"),
        ("/api/v1/review/hr", "get"),
        ("/api/v1/review/hr/requests", "post"),
        ("/api/v1/review/rules/try", "post"),
    ):
        assert method in paths[path], (path, method)
    schemas = document["components"]["schemas"]
    assert {"DebriefOut", "GradeIn", "ContestResolve", "HrViewOut", "TuningIn"} <= set(
        schemas
    )
    grade = schemas["GradeIn"]
    assert grade["properties"]["grade"]["enum"] == ["P", "S", "M", "U"]
    assert grade["additionalProperties"] is False


def test_the_debrief_api_answers_the_scored_profile(app, scored):
    body = (
        _signed_in(app, "manager").get(f"/api/v1/review/exercises/{scored}").get_json()
    )
    assert body["marker"] == "[EXERCISE]"
    assert body["scored"] is True and body["revision"] == 1
    assert round(body["document"]["tes"]["tes"], 1) == 74.1
    assert body["damage_curve"]["real"][-1] == pytest.approx(40.0)


def test_a_grade_through_the_api_rescores(app, scored):
    response = _signed_in(app, "manager").post_json(
        f"/api/v1/review/exercises/{scored}/grades",
        {"ticket": "inc-1", "section": "conclusion", "grade": "S"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["revision"] == 2


def test_a_state_change_without_the_csrf_token_is_refused(app, scored):
    browser = _signed_in(app, "manager")
    before = row_counts()
    response = browser.client.post(
        f"/api/v1/review/exercises/{scored}/grades",
        json={"ticket": "INC-1", "section": "impact", "grade": "P"},
    )
    assert response.status_code == 403
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 415),
        ([1, 2, 3], 400),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(app, scored, body, status):
    browser = _signed_in(app, "manager")
    token = browser.csrf_token()
    kwargs = (
        {"data": body, "content_type": "text/plain"}
        if status == 415
        else {"json": body}
    )
    response = browser.client.post(
        f"/api/v1/review/exercises/{scored}/grades",
        headers={"X-CSRFToken": token},
        **kwargs,
    )
    assert response.status_code == status


def test_corrective_actions_are_editable_through_the_api(app, scored):
    browser = _signed_in(app, "lead")
    created = browser.post_json(
        f"/api/v1/review/exercises/{scored}/actions",
        {
            "action": "Rehearse the SRV-FS1 isolation",
            "owner": "ana2",
            "due_date": "2099-01-01",
        },
    )
    assert created.status_code == 422  # more than two years ahead
    created = browser.post_json(
        f"/api/v1/review/exercises/{scored}/actions",
        {
            "action": "Rehearse the SRV-FS1 isolation",
            "owner": "ana2",
            "due_date": _in_days(14),
        },
    )
    assert created.status_code == 201
    action_id = created.get_json()["id"]
    response = browser.client.patch(
        f"/api/v1/review/exercises/{scored}/actions",
        json={"id": action_id, "status": "done"},
        headers={"X-CSRFToken": browser.csrf_token()},
    )
    assert response.status_code == 200
    body = browser.get(f"/api/v1/review/exercises/{scored}").get_json()
    assert body["corrective_actions"][0]["status"] == "done"


def test_every_review_endpoint_is_classified(app):
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("review.", "review_api."))
    }
    assert endpoints and endpoints <= set(rbac.ALLOW)


def test_each_role_gets_exactly_the_review_routes_the_table_allows(app, review):
    """GET routes a role may call are never refused by the table; every other
    review route answers 403 to a role outside its list."""
    arguments = {
        "exercise_id": review.world.exercise_a.id,
        "team_id": review.world.team_a.id,
    }
    adapter = app.url_map.bind("localhost")
    routes = [
        (
            rule.endpoint,
            method,
            adapter.build(rule.endpoint, {k: arguments[k] for k in rule.arguments}),
        )
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("review.", "review_api."))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    for role, user in review.world.by_role().items():
        browser = _signed_in(app, user.username)
        for endpoint, method, url in routes:
            allowed = rbac.allowed(endpoint, role)
            if not allowed:
                response = browser.client.open(
                    url, method=method, headers={"X-CSRFToken": browser.csrf_token()}
                )
                assert response.status_code == 403, (endpoint, role)
            elif method == "GET":
                response = browser.get(url)
                assert response.status_code not in (401, 403), (endpoint, role)
    assert rbac.allowed("review.hr", Role.HR)
    assert not rbac.allowed("review.debrief", Role.HR)
    assert not rbac.allowed("review.debrief", Role.OBSERVER)


def _in_days(days: int) -> str:
    from datetime import date, timedelta

    return (date.today() + timedelta(days=days)).isoformat()


def test_a_retried_request_with_its_idempotency_key_acts_once(app, scored):
    browser = _signed_in(app, "lead")
    body = {"action": "Rehearse isolation", "owner": "ana2", "due_date": _in_days(7)}
    headers = {"X-CSRFToken": browser.csrf_token(), "Idempotency-Key": "plan-1"}
    url = f"/api/v1/review/exercises/{scored}/actions"
    first = browser.client.post(url, json=body, headers=headers)
    again = browser.client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["replayed"] is True
    assert again.get_json()["id"] == first.get_json()["id"]
    listed = browser.get(f"/api/v1/review/exercises/{scored}").get_json()
    assert len(listed["corrective_actions"]) == 1
    other = browser.client.post(
        f"/api/v1/review/exercises/{scored}/score", headers=headers
    )
    assert other.status_code == 409  # the key belongs to another request
    bad = browser.client.post(
        url, json=body, headers={**headers, "Idempotency-Key": "bad key!"}
    )
    assert bad.status_code == 422
