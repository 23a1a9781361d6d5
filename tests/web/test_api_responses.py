"""Response actions from an alert, an incident or an event, through the engine."""

from __future__ import annotations

from tests.web import test_console_support as support
from tests.web.conftest import row_counts
from tests.web.test_console_support import activities, make_side

cworld = support.cworld
api_as = support.api_as


def test_the_confirmation_names_the_exercise_and_the_target(cworld, api_as):
    api = api_as("acme-analyst")
    host = cworld.a.hosts[0]
    preview = api.get(
        "/api/v1/responses/preview",
        action="isolate_host",
        target=host,
        alert_id=cworld.alert_ids["a"][0],
    )
    assert preview.status_code == 200, preview.get_json()
    text = preview.get_json()["confirmation"]
    assert host in text and "Drill acme" in text and "Isolate host" in text


def test_isolating_from_an_alert_writes_one_response_row(cworld, api_as):
    api = api_as("acme-analyst")
    host = cworld.a.hosts[0]
    body = {
        "action": "isolate_host",
        "target": host,
        "alert_id": cworld.alert_ids["a"][0],
    }
    response = api.post("/api/v1/responses", body, key="iso-1")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["target"] == host.lower()
    again = api.post("/api/v1/responses", body, key="iso-1")
    assert again.get_json()["replayed"] is True
    (row,) = activities(cworld.a.exercise_id, "response")
    assert row.payload["fields"] == {"action": "isolate_host"}


def test_a_response_from_an_incident_lands_in_its_timeline(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = api.post(
        "/api/v1/incidents", {"title": "Spraying", "tenant": "acme"}
    ).get_json()["data"]["incident_id"]
    response = api.post(
        "/api/v1/responses",
        {"action": "block_ip", "target": "192.0.2.44", "incident_id": incident_id},
    )
    assert response.status_code == 201, response.get_json()
    timeline = api.get(f"/api/v1/incidents/{incident_id}").get_json()["timeline"]
    assert [entry["kind"] for entry in timeline] == ["created", "response"]


def counts_without_the_engine_cache() -> dict[str, int]:
    """Row counts, less the engine's runtime snapshot (created on first use)."""
    counts = row_counts()
    counts.pop("engine_runtimes")
    return counts


def test_unknown_targets_and_other_tenants_are_refused(cworld, api_as):
    api = api_as("acme-analyst")
    before = counts_without_the_engine_cache()
    unknown = api.post(
        "/api/v1/responses",
        {"action": "isolate_host", "target": "NO-SUCH-HOST", "tenant": "acme"},
    )
    assert unknown.status_code == 400
    foreign = api.post(
        "/api/v1/responses",
        {"action": "isolate_host", "target": "x", "alert_id": cworld.alert_ids["b"][0]},
    )
    assert foreign.status_code == 404
    bad = api.post("/api/v1/responses", {"action": "format_disk", "target": "x"})
    assert bad.status_code == 422
    both = api.post(
        "/api/v1/responses",
        {"action": "isolate_host", "target": "x", "alert_id": 1, "incident_id": 1},
    )
    assert both.status_code == 422
    assert counts_without_the_engine_cache() == before


def test_without_an_exercise_in_play_nothing_happens(cworld, api_as):
    manager = api_as("acme-manager")
    manager.post(f"/api/v1/exercises/{cworld.a.exercise_id}/endex", {"reason": "x"})
    response = api_as("acme-analyst").post(
        "/api/v1/responses",
        {"action": "isolate_host", "target": cworld.a.hosts[0], "tenant": "acme"},
    )
    assert response.status_code == 409
    assert activities(cworld.a.exercise_id, "response") == []


def test_a_secret_drill_is_named_only_as_its_tenants_sandbox(ctx, api_as):
    side = make_side("initech", announced=False)
    api = api_as("initech-analyst")
    preview = api.get(
        "/api/v1/responses/preview",
        action="isolate_host",
        target=side.hosts[0],
        tenant="initech",
    )
    # The analyst's team plays it, but the drill itself stays unnamed.
    assert preview.status_code == 200, preview.get_json()
    text = preview.get_json()["confirmation"]
    assert "Drill initech" not in text
    assert "Tenant initech sandbox" in text
    insider = api_as("initech-lead").get(
        "/api/v1/responses/preview",
        action="isolate_host",
        target=side.hosts[0],
        tenant="initech",
    )
    assert "Drill initech" in insider.get_json()["confirmation"]
