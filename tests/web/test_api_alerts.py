"""The alert queue through the JSON API: filters, counts, triage actions, the
activity rows they write, retries, tenancy and refused input."""

from __future__ import annotations

import pytest

from socdrill.engine.scoring_input import scored_activity
from socdrill.extensions import db
from socdrill.models import AlertStatus, AlertTriage, Exercise, Role
from tests.web import test_console_support as support
from tests.web.conftest import make_user, row_counts
from tests.web.test_console_support import activities, raise_alerts

cworld = support.cworld
api_as = support.api_as


def test_the_queue_lists_only_the_alerts_of_my_tenants(cworld, api_as):
    body = api_as("acme-analyst").get("/api/v1/alerts").get_json()
    mine = cworld.alert_ids["a"]  # one per host, two when a 5-min bucket splits
    assert sorted(alert["id"] for alert in body["alerts"]) == mine
    assert body["total"] == len(mine)
    assert {alert["tenant"] for alert in body["alerts"]} == {"acme"}
    assert body["groups"]["status"] == [
        {"key": "new", "label": "new", "count": len(mine)}
    ]
    assert body["groups"]["rule"][0]["count"] == len(mine)


def test_an_alert_of_another_tenant_answers_404(cworld, api_as):
    api = api_as("acme-analyst")
    other = cworld.alert_ids["b"][0]
    assert api.get(f"/api/v1/alerts/{other}").status_code == 404
    response = api.post("/api/v1/alerts/ack", {"alert_ids": [other]})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert db.session.query(AlertTriage).count() == 0


def test_filters_narrow_by_host_severity_status_and_assignee(cworld, api_as):
    api = api_as("acme-analyst")
    first, second = cworld.alert_ids["a"]
    host = cworld.a.hosts[0]
    assert [
        a["host"] for a in api.get("/api/v1/alerts", host=host).get_json()["alerts"]
    ] == [host]
    assert api.get("/api/v1/alerts", severity="low").get_json()["total"] == 0
    api.post("/api/v1/alerts/ack", {"alert_ids": [first]})
    mine = api.get("/api/v1/alerts", assignee="me").get_json()
    assert [a["id"] for a in mine["alerts"]] == [first]
    new = api.get("/api/v1/alerts", status="new").get_json()
    assert [a["id"] for a in new["alerts"]] == [second]
    nobody = api.get("/api/v1/alerts", assignee="none").get_json()
    assert [a["id"] for a in nobody["alerts"]] == [second]
    statuses = {g["key"]: g["count"] for g in mine["groups"]["status"]}
    assert statuses == {"acknowledged": 1}


def test_acknowledging_writes_one_ack_row_with_the_alert_ids(cworld, api_as):
    api = api_as("acme-analyst")
    ids = cworld.alert_ids["a"]
    response = api.post("/api/v1/alerts/ack", {"alert_ids": ids})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["replayed"] is False
    rows = activities(cworld.a.exercise_id)
    assert [row.kind for row in rows] == ["ack"]
    assert rows[0].payload["targets"] == [str(i) for i in ids]
    assert rows[0].target_type == "alert"
    assert body["activity_ids"] == [rows[0].id]
    assert rows[0].active_seconds >= 0


def test_a_retry_with_the_same_idempotency_key_has_one_effect(cworld, api_as):
    api = api_as("acme-analyst")
    ids = cworld.alert_ids["a"][:1]
    first = api.post("/api/v1/alerts/ack", {"alert_ids": ids}, key="retry-1")
    again = api.post("/api/v1/alerts/ack", {"alert_ids": ids}, key="retry-1")
    assert first.get_json()["replayed"] is False
    assert again.get_json()["replayed"] is True
    assert again.get_json()["activity_ids"] == first.get_json()["activity_ids"]
    assert len(activities(cworld.a.exercise_id, "ack")) == 1


def test_a_key_reused_for_another_request_is_a_conflict(cworld, api_as):
    first, second = cworld.alert_ids["a"]
    api = api_as("acme-analyst")
    done = api.post("/api/v1/alerts/ack", {"alert_ids": [first]}, key="reuse-1")
    assert done.status_code == 200
    other = api.post("/api/v1/alerts/ack", {"alert_ids": [second]}, key="reuse-1")
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "conflict"
    assert "Idempotency-Key" in other.get_json()["error"]["fields"]
    colleague = api_as("acme-analyst2").post(
        "/api/v1/alerts/ack", {"alert_ids": [first]}, key="reuse-1"
    )
    assert colleague.status_code == 409
    assert len(activities(cworld.a.exercise_id, "ack")) == 1


def test_an_id_beyond_64_bits_is_invalid_input(cworld, api_as):
    response = api_as("acme-analyst").post("/api/v1/alerts/ack", {"alert_ids": [2**64]})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert "body.alert_ids.0" in response.get_json()["error"]["fields"]


def test_a_malformed_idempotency_key_is_refused(cworld, api_as):
    response = api_as("acme-analyst").post(
        "/api/v1/alerts/ack", {"alert_ids": cworld.alert_ids["a"]}, key="bad key!"
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert activities(cworld.a.exercise_id) == []


def test_closing_records_the_verdict_and_refuses_a_second_close(cworld, api_as):
    api = api_as("acme-analyst")
    alert_id = cworld.alert_ids["a"][0]
    response = api.post(
        "/api/v1/alerts/close",
        {"alert_ids": [alert_id], "verdict": "benign", "reason": "admin testing"},
    )
    assert response.status_code == 200, response.get_json()
    row = db.session.query(AlertTriage).filter_by(siem_alert_id=alert_id).one()
    assert row.status == AlertStatus.CLOSED and row.verdict.value == "benign"
    assert row.reason == "admin testing"
    verdicts = activities(cworld.a.exercise_id, "verdict")
    assert [v.payload["fields"] for v in verdicts] == [{"verdict": "benign"}]
    again = api.post(
        "/api/v1/alerts/close",
        {"alert_ids": [alert_id], "verdict": "tp", "reason": "changed my mind"},
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alert_ids": [1], "verdict": "maybe", "reason": "x"}, "body.verdict"),
        ({"alert_ids": [1], "verdict": "tp", "reason": ""}, "body.reason"),
        ({"alert_ids": [], "verdict": "tp", "reason": "x"}, "body.alert_ids"),
        ({"alert_ids": ["one"], "verdict": "tp", "reason": "x"}, "body.alert_ids.0"),
        ({"verdict": "tp", "reason": "x"}, "body.alert_ids"),
        ({"alert_ids": [1], "verdict": "tp", "reason": "x\x00"}, "body.reason"),
    ],
)
def test_invalid_close_requests_name_the_field_and_change_nothing(
    cworld, api_as, body, field
):
    api = api_as("acme-analyst")
    before = row_counts()
    response = api.post("/api/v1/alerts/close", body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("smuggled", ["tenant_id", "exercise_id", "role", "score"])
def test_mass_assignment_of_protected_fields_is_refused(cworld, api_as, smuggled):
    api = api_as("acme-analyst")
    before = row_counts()
    response = api.post(
        "/api/v1/alerts/ack", {"alert_ids": cworld.alert_ids["a"], smuggled: 1}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        f"body.{smuggled}": "this field cannot be set here"
    }
    assert row_counts() == before


def test_a_body_that_is_not_json_is_refused(cworld, api_as):
    api = api_as("acme-analyst")
    response = api.browser.client.post(
        "/api/v1/alerts/ack",
        data="alert_ids=1",
        headers={"X-CSRFToken": api.token},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    response = api.browser.client.post(
        "/api/v1/alerts/ack",
        data="[1, 2]",
        headers={"X-CSRFToken": api.token},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_escalating_opens_an_incident_and_marks_the_alerts(cworld, api_as):
    api = api_as("acme-analyst")
    ids = cworld.alert_ids["a"]
    response = api.post(
        "/api/v1/alerts/escalate", {"alert_ids": ids, "title": "Password spraying"}
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    incident = api.get(f"/api/v1/incidents/{data['incident_id']}").get_json()
    assert incident["alert_ids"] == ids
    assert incident["reference"] == data["reference"]
    queue = api.get("/api/v1/alerts", status="escalated").get_json()
    assert {a["incident_id"] for a in queue["alerts"]} == {data["incident_id"]}
    rows = activities(cworld.a.exercise_id)
    assert [(r.kind, r.payload["fields"]) for r in rows] == [
        ("verdict", {"verdict": "escalated"})
    ]
    assert rows[0].payload["ticket"] == data["reference"]
    # The ticket the escalation opened is scored from its first moment.
    assert rows[0].payload["ticket_fields"] == {
        "severity": "P3",
        "alerts": [str(i) for i in ids],
        "timeline": [str(i) for i in ids],
    }
    exercise = db.session.get(Exercise, cworld.a.exercise_id)
    scored = [(a.action, a.ticket, dict(a.fields)) for a in scored_activity(exercise)]
    assert scored == [
        ("verdict", data["reference"], {"verdict": "escalated"}),
        ("ticket_update", data["reference"], rows[0].payload["ticket_fields"]),
    ]


def test_escalating_into_an_existing_incident_links_the_alert(cworld, api_as):
    api = api_as("acme-analyst")
    first, second = cworld.alert_ids["a"]
    opened = api.post(
        "/api/v1/alerts/escalate", {"alert_ids": [first], "title": "Spraying"}
    ).get_json()["data"]
    response = api.post(
        "/api/v1/alerts/escalate",
        {"alert_ids": [second], "incident_id": opened["incident_id"]},
    )
    assert response.status_code == 200
    incident = api.get(f"/api/v1/incidents/{opened['incident_id']}").get_json()
    assert incident["alert_ids"] == [first, second]
    linked = activities(cworld.a.exercise_id)[-1]
    assert linked.payload["ticket_fields"]["alerts"] == [str(first), str(second)]
    again = api.post(
        "/api/v1/alerts/escalate",
        {"alert_ids": [second], "incident_id": opened["incident_id"]},
    )
    assert again.status_code == 409


def test_assigning_to_someone_outside_my_teams_is_refused(cworld, api_as):
    api = api_as("acme-analyst")
    response = api.post(
        "/api/v1/alerts/assign",
        {"alert_ids": cworld.alert_ids["a"], "assignee": "globex-analyst"},
    )
    assert response.status_code == 404
    assigned = api.post(
        "/api/v1/alerts/assign",
        {"alert_ids": cworld.alert_ids["a"], "assignee": "acme-analyst2"},
    )
    assert assigned.status_code == 200
    queue = api.get("/api/v1/alerts", assignee="acme-analyst2").get_json()
    assert queue["total"] == 2


def test_an_observer_may_read_the_queue_but_not_triage(cworld, app, api_as):

    make_user(
        "acme-observer",
        Role.OBSERVER,
        team=db.session.get_one(
            __import__("socdrill.models", fromlist=["Team"]).Team, cworld.a.team_id
        ),
    )
    api = api_as("acme-observer")
    assert api.get("/api/v1/alerts").status_code == 200
    response = api.post("/api/v1/alerts/ack", {"alert_ids": cworld.alert_ids["a"]})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_alerts_without_an_exercise_change_state_but_write_no_activity(
    cworld, app, api_as
):
    ids = raise_alerts(app, "acme", None, [cworld.a.hosts[5]])
    api = api_as("acme-analyst")
    response = api.post("/api/v1/alerts/ack", {"alert_ids": ids})
    assert response.status_code == 200
    assert response.get_json()["activity_ids"] == []
    row = db.session.query(AlertTriage).filter_by(siem_alert_id=ids[0]).one()
    assert row.status == AlertStatus.ACKNOWLEDGED and row.exercise_id is None
