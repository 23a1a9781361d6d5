"""Search through the JSON API: scoping, error positions, exercise secrecy,
pivots, event detail, saved searches and hunting findings."""

from __future__ import annotations

import pytest

from tests.web import test_console_support as support
from tests.web.conftest import row_counts
from tests.web.test_console_support import activities

cworld = support.cworld
api_as = support.api_as


def test_search_returns_only_the_tenants_events(cworld, api_as):
    api = api_as("acme-analyst")
    body = api.get("/api/v1/search", q="EventID:4625").get_json()
    assert body["total"] == 6
    assert {event["host"] for event in body["events"]} == set(cworld.a.hosts[:2])
    assert body["columns"] == ["product", "category", "raw"]
    assert all("exercise" not in event for event in body["events"])
    assert api.get("/api/v1/search", q="*", tenant="globex").status_code == 404


def test_a_bad_query_answers_422_with_the_position_of_the_problem(cworld, api_as):
    response = api_as("acme-analyst").get("/api/v1/search", q="EventID:(4625 OR")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["q.position"] == "16"


@pytest.mark.parametrize(
    "query", ["exercise:1", "_exists_:exercise", "host:x OR exercise:*"]
)
def test_participants_cannot_search_which_events_belong_to_a_drill(
    cworld, api_as, query
):
    response = api_as("acme-analyst").get("/api/v1/search", q=query)
    assert response.status_code == 422
    assert "exercise" in response.get_json()["error"]["message"]
    shown = api_as("acme-analyst").get("/api/v1/search", columns="exercise")
    assert shown.status_code == 422


def test_control_may_search_the_exercise_field(cworld, api_as):
    body = api_as("acme-manager").get(
        "/api/v1/search", q=f"exercise:{cworld.a.exercise_id}"
    )
    assert body.status_code == 200
    assert body.get_json()["total"] == 6


def test_histogram_and_top_values(cworld, api_as):
    api = api_as("acme-analyst")
    histogram = api.get("/api/v1/search/histogram", q="EventID:4625").get_json()
    assert histogram["total"] == 6
    assert sum(bucket["count"] for bucket in histogram["buckets"]) == 6
    top = api.get("/api/v1/search/top", q="*", field="host").get_json()
    assert {v["value"]: v["count"] for v in top["values"]} == {
        cworld.a.hosts[0]: 3,
        cworld.a.hosts[1]: 3,
    }
    assert api.get("/api/v1/search/top", q="*", field="tenant").status_code == 422


def test_an_event_of_another_tenant_answers_404(cworld, api_as):
    api = api_as("acme-analyst")
    mine = api.get("/api/v1/search", q="*").get_json()["events"][0]["id"]
    detail = api.get(f"/api/v1/events/{mine}").get_json()
    assert detail["fields"]["EventID"] == 4625
    assert "failed to log on" in detail["raw"]
    theirs = api_as("globex-analyst").get(f"/api/v1/events/{mine}")
    assert theirs.status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "2y"}, "query.range"),
        ({"limit": "0"}, "query.limit"),
        ({"start": "yesterday"}, "query.start"),
        ({"start": "2026-01-01T00:00:00"}, "query.start"),
        ({"bogus": "1"}, "query.bogus"),
    ],
)
def test_malformed_search_parameters_are_refused(cworld, api_as, params, field):
    response = api_as("acme-analyst").get("/api/v1/search", **params)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_saved_searches_are_personal_and_checked(cworld, api_as):
    api = api_as("acme-analyst")
    body = {"name": "failures", "query": "EventID:4625", "columns": ["host"]}
    assert api.post("/api/v1/saved-searches", body).status_code == 201
    assert api.post("/api/v1/saved-searches", body).status_code == 409
    broken = api.post("/api/v1/saved-searches", {"name": "x", "query": "a:(b"})
    assert broken.status_code == 422
    saved = api.get("/api/v1/saved-searches").get_json()["saved_searches"]
    assert [s["name"] for s in saved] == ["failures"]
    assert api_as("acme-lead").get("/api/v1/saved-searches").get_json() == {
        "saved_searches": []
    }
    other = api_as("acme-lead").send(
        "DELETE", f"/api/v1/saved-searches/{saved[0]['id']}"
    )
    assert other.status_code == 404
    gone = api.send("DELETE", f"/api/v1/saved-searches/{saved[0]['id']}")
    assert gone.status_code == 200
    assert activities(cworld.a.exercise_id) == []


def test_a_hunting_finding_is_one_activity_row(cworld, api_as):
    api = api_as("acme-analyst")
    event_id = api.get("/api/v1/search", q="*").get_json()["events"][0]["id"]
    response = api.post(
        "/api/v1/findings", {"value": "192.0.2.44", "event_id": event_id}
    )
    assert response.status_code == 200
    (row,) = activities(cworld.a.exercise_id, "hunt_finding")
    assert row.payload["targets"] == ["192.0.2.44"]
    outsider = api_as("globex-analyst")
    before = row_counts()
    foreign = outsider.post("/api/v1/findings", {"value": "x", "event_id": event_id})
    assert foreign.status_code == 404
    assert row_counts() == before
