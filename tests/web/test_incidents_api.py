"""Incidents (SIRP) through the JSON API: sections, tags, assets, workflow,
hand-off, the customer report, and the activity rows the scorer reads."""

from __future__ import annotations

import pytest

from socdrill.console.incidents import EXERCISE_MARKER
from tests.web import test_console_support as support
from tests.web.conftest import row_counts
from tests.web.test_console_support import activities

cworld = support.cworld
api_as = support.api_as


def open_incident(api, cworld, **extra):
    body = {"title": "Suspicious logons", "tenant": "acme", **extra}
    response = api.post("/api/v1/incidents", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["incident_id"]


def test_an_incident_from_scratch_belongs_to_the_exercise_in_play(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld, severity="P2", context="Seen by *us*")
    incident = api.get(f"/api/v1/incidents/{incident_id}").get_json()
    assert incident["status"] == "new"
    assert incident["assignees"] == ["acme-analyst"]
    assert incident["timeline"][0]["kind"] == "created"
    rows = activities(cworld.a.exercise_id)
    assert [row.kind for row in rows] == ["ticket_update"]
    assert rows[0].payload["ticket"] == f"INC-{incident_id}"
    assert rows[0].payload["fields"] == {"severity": "P2", "context": "Seen by *us*"}


def test_filling_every_section_writes_one_row_with_the_scorer_fields(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    host = cworld.a.hosts[0]
    response = api.patch(
        f"/api/v1/incidents/{incident_id}",
        {
            "version": 1,
            "context": "Alert on failed logons",
            "facts": "Three failures from 192.0.2.44",
            "analysis": "Password spraying",
            "conclusion": "Blocked before success",
            "remediation": "Block the address, reset j.doe",
            "impact": "None: no logon succeeded",
            "severity": "P2",
            "techniques": ["t1110.003", "T1078"],
            "iocs": ["192.0.2.44"],
            "assets": [
                {"kind": "host", "value": host},
                {"kind": "account", "value": "j.doe"},
                {"kind": "ip", "value": "192.0.2.44"},
            ],
            "alert_ids": cworld.alert_ids["a"],
        },
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["version"] == 2
    incident = api.get(f"/api/v1/incidents/{incident_id}").get_json()
    assert [t["id"] for t in incident["techniques"]] == ["T1110.003", "T1078"]
    assert incident["techniques"][0]["name"] == "Password Spraying"
    rows = activities(cworld.a.exercise_id, "ticket_update")
    assert len(rows) == 2
    fields = rows[-1].payload["fields"]
    assert fields["assets"] == [host, "j.doe", "192.0.2.44"]
    assert fields["alerts"] == [str(i) for i in cworld.alert_ids["a"]]
    assert fields["techniques"] == ["T1110.003", "T1078"]
    assert fields["impact"] == "None: no logon succeeded"
    assert fields["timeline"][:2] == [str(i) for i in cworld.alert_ids["a"]]


def test_a_stale_version_is_refused_and_changes_nothing(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    assert (
        api.patch(
            f"/api/v1/incidents/{incident_id}", {"version": 1, "facts": "first"}
        ).status_code
        == 200
    )
    before = row_counts()
    stale = api.patch(f"/api/v1/incidents/{incident_id}", {"version": 1, "facts": "x"})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["fields"] == {"version": "stale"}
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"techniques": ["T9999"]}, "techniques.0"),
        ({"techniques": ["mimikatz"]}, "body.techniques.0"),
        ({"assets": [{"kind": "ip", "value": "not-an-ip"}]}, "assets.0.value"),
        ({"assets": [{"kind": "printer", "value": "P1"}]}, "body.assets.0.kind"),
        ({"severity": "P7"}, "body.severity"),
        ({"status": "closed"}, "body.status"),
        ({"tenant_id": 2}, "body.tenant_id"),
        ({"exercise_id": 2}, "body.exercise_id"),
        ({"facts": "x" * 20_001}, "body.facts"),
        ({"title": ""}, "body.title"),
    ],
)
def test_invalid_edits_name_the_field_and_change_nothing(cworld, api_as, body, field):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    before = row_counts()
    response = api.patch(f"/api/v1/incidents/{incident_id}", body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert row_counts() == before


def test_linking_an_alert_of_another_tenant_is_refused(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    response = api.patch(
        f"/api/v1/incidents/{incident_id}", {"alert_ids": cworld.alert_ids["b"]}
    )
    assert response.status_code == 404


def test_another_tenants_incident_answers_404(cworld, api_as):
    incident_id = open_incident(api_as("acme-analyst"), cworld)
    other = api_as("globex-analyst")
    assert other.get(f"/api/v1/incidents/{incident_id}").status_code == 404
    before = row_counts()
    response = other.patch(f"/api/v1/incidents/{incident_id}", {"facts": "mine now"})
    assert response.status_code == 404
    assert row_counts() == before
    assert other.get("/api/v1/incidents").get_json()["incidents"] == []


def test_the_workflow_moves_forward_and_closing_needs_a_conclusion(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    url = f"/api/v1/incidents/{incident_id}/status"
    assert api.post(url, {"status": "in_progress"}).status_code == 200
    assert api.post(url, {"status": "new"}).status_code == 409
    assert api.post(url, {"status": "contained"}).status_code == 200
    refused = api.post(url, {"status": "closed"})
    assert refused.status_code == 409
    assert "conclusion" in refused.get_json()["error"]["fields"]
    api.patch(f"/api/v1/incidents/{incident_id}", {"conclusion": "Contained."})
    assert api.post(url, {"status": "closed"}).status_code == 200
    edit = api.patch(f"/api/v1/incidents/{incident_id}", {"facts": "late"})
    assert edit.status_code == 409
    reopen = api.post(url, {"status": "in_progress"})
    assert reopen.status_code == 422
    reopened = api.post(url, {"status": "in_progress", "note": "new evidence"})
    assert reopened.status_code == 200


def test_a_handoff_records_the_receiver_and_which_parts_the_note_covers(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    url = f"/api/v1/incidents/{incident_id}/handoff"
    empty = api.post(url, {"to": "acme-analyst2", "note": {}})
    assert empty.status_code == 422
    response = api.post(
        url,
        {
            "to": "acme-analyst2",
            "note": {"open_items": "host scan", "next_step": "reset j.doe"},
        },
    )
    assert response.status_code == 200, response.get_json()
    incident = api.get(f"/api/v1/incidents/{incident_id}").get_json()
    assert incident["assignees"] == ["acme-analyst2"]
    (row,) = activities(cworld.a.exercise_id, "handoff")
    assert row.payload["fields"]["to"] == "acme-analyst2"
    assert row.payload["fields"]["note"] == {
        "open_items": True,
        "status": False,
        "iocs": False,
        "next_step": True,
    }
    assert f"INC-{incident_id}" in row.payload["fields"]["items"]
    to_self = api_as("acme-analyst2").post(
        url, {"to": "acme-analyst2", "note": {"status": "x"}}
    )
    assert to_self.status_code == 422


def test_the_customer_report_is_marked_as_an_exercise_and_sanitised(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    url = f"/api/v1/incidents/{incident_id}/reports"
    not_ready = api.post(url, {"recipient": "soc@customer.example"})
    assert not_ready.status_code == 409
    api.patch(
        f"/api/v1/incidents/{incident_id}",
        {
            "context": "Alert <script>alert(1)</script> [x](javascript:alert(2))",
            "conclusion": "Done [ok](https://example.org/)",
        },
    )
    assert api.post(url, {"recipient": "not an address"}).status_code == 422
    response = api.post(url, {"recipient": "soc@customer.example", "message": "Hi"})
    assert response.status_code == 201, response.get_json()
    (report,) = api.get(f"/api/v1/incidents/{incident_id}").get_json()["reports"]
    assert report["subject"].startswith(EXERCISE_MARKER)
    assert EXERCISE_MARKER in report["body"]
    assert "<script" not in report["html"]
    assert 'href="javascript' not in report["html"]
    assert 'href="https://example.org/"' in report["html"]
    rows = activities(cworld.a.exercise_id, "report_sent")
    assert [row.payload["ticket"] for row in rows] == [f"INC-{incident_id}"]


def test_notes_and_assignees(cworld, api_as):
    api = api_as("acme-analyst")
    incident_id = open_incident(api, cworld)
    note = api.post(f"/api/v1/incidents/{incident_id}/notes", {"text": "Called IT"})
    assert note.status_code == 200
    assert (
        api.post(f"/api/v1/incidents/{incident_id}/notes", {"text": ""}).status_code
        == 422
    )
    people = api.post(
        f"/api/v1/incidents/{incident_id}/assignees",
        {"assignees": ["acme-analyst", "acme-lead"]},
    )
    assert people.status_code == 200
    incident = api.get(f"/api/v1/incidents/{incident_id}").get_json()
    assert incident["assignees"] == ["acme-analyst", "acme-lead"]
    assert [e["kind"] for e in incident["timeline"]] == ["created", "note", "assign"]
    outsider = api.post(
        f"/api/v1/incidents/{incident_id}/assignees", {"assignees": ["globex-lead"]}
    )
    assert outsider.status_code == 404
