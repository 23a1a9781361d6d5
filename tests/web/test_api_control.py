"""The control cell's live view and interventions, and the crisis inbox."""

from __future__ import annotations

from socdrill.extensions import db
from socdrill.models import AuditEntry, ChatMessage
from tests.web import test_console_support as support
from tests.web.conftest import row_counts
from tests.web.test_console_support import activities, exercise

cworld = support.cworld
api_as = support.api_as


def test_the_live_view_shows_ground_truth_and_progress_to_control(cworld, api_as):
    analyst = api_as("acme-analyst")
    analyst.post("/api/v1/alerts/ack", {"alert_ids": cworld.alert_ids["a"]})
    live = api_as("acme-manager").get(f"/api/v1/exercises/{cworld.a.exercise_id}/live")
    assert live.status_code == 200
    body = live.get_json()
    assert body["state"] == "running"
    assert body["stages"], "the scenario's stages are listed"
    assert {stage["status"] for stage in body["stages"]} <= {
        "pending",
        "fired",
        "prevented",
        "fallback",
        "skipped",
    }
    assert body["alerts"]["total"] == 2 and body["alerts"]["acknowledged"] == 2
    assert body["activity_counts"] == {"ack": 1}
    assert body["activity"][0]["actor"] == "acme-analyst"


def test_participants_and_other_tenants_get_404_for_the_live_view(cworld, api_as):
    url = f"/api/v1/exercises/{cworld.a.exercise_id}/live"
    assert api_as("acme-analyst").get(url).status_code == 404
    assert api_as("globex-manager").get(url).status_code == 404
    assert (
        api_as("acme-analyst")
        .get(f"/api/v1/exercises/{cworld.a.exercise_id}/activity")
        .status_code
        == 404
    )


def test_a_hint_reaches_the_team_channel_and_marks_the_stage_assisted(cworld, api_as):
    manager = api_as("acme-manager")
    stages = manager.get(f"/api/v1/exercises/{cworld.a.exercise_id}/live").get_json()[
        "stages"
    ]
    stage = stages[0]["id"]
    url = f"/api/v1/exercises/{cworld.a.exercise_id}/hints"
    unknown = manager.post(url, {"stage_id": "no-such-stage", "text": "look"})
    assert unknown.status_code == 422
    response = manager.post(url, {"stage_id": stage, "text": "Look at the logons"})
    assert response.status_code == 201, response.get_json()
    (row,) = activities(cworld.a.exercise_id, "hint")
    assert row.payload["targets"] == [stage]
    hint = db.session.query(ChatMessage).one()
    assert hint.kind == "hint" and hint.body == "Look at the logons"
    channel = api_as("acme-analyst").get("/api/v1/chat").get_json()
    assert [m["body"] for m in channel["messages"]] == ["Look at the logons"]
    assert db.session.query(AuditEntry).filter_by(action="exercise.hint").count() == 1
    assert api_as("acme-analyst").post(url, {"text": "x"}).status_code == 403


def test_pause_resume_speed_and_an_idempotent_endex(cworld, api_as):
    manager = api_as("acme-manager")
    base = f"/api/v1/exercises/{cworld.a.exercise_id}"
    assert manager.post(f"{base}/pause").get_json()["state"] == "paused"
    assert manager.post(f"{base}/pause").status_code == 409
    assert manager.post(f"{base}/resume").get_json()["state"] == "running"
    assert manager.post(f"{base}/speed", {"speed": 30}).status_code == 200
    assert manager.post(f"{base}/speed", {"speed": 0}).status_code == 422
    assert exercise(cworld.a.exercise_id).speed_factor == 30
    ended = manager.post(f"{base}/endex", {"reason": "done"}).get_json()
    assert ended["state"] == "ended" and ended["changed"] is True
    before = row_counts()
    again = manager.post(f"{base}/endex", {"reason": "again"}).get_json()
    assert again["changed"] is False
    assert row_counts() == before


def test_a_crisis_message_reaches_the_inbox_and_the_reply_is_recorded(cworld, api_as):
    manager = api_as("acme-manager")
    response = manager.post(
        f"/api/v1/exercises/{cworld.a.exercise_id}/crisis",
        {
            "channel": "media",
            "sender": "Dana, Daily Planet",
            "subject": "Are you breached?",
            "message": "We hear your payroll is down. Comment?",
            "reply_within_minutes": 30,
        },
    )
    assert response.status_code == 201, response.get_json()
    analyst = api_as("acme-analyst")
    (message,) = analyst.get("/api/v1/inbox").get_json()["messages"]
    assert message["channel"] == "media" and message["deadline"] is not None
    assert api_as("globex-analyst").get("/api/v1/inbox").get_json()["messages"] == []
    url = f"/api/v1/inbox/{message['id']}/replies"
    assert analyst.post(url, {"text": ""}).status_code == 422
    reply = analyst.post(url, {"text": "No comment yet."}, key="reply-1")
    assert reply.status_code == 201, reply.get_json()
    again = analyst.post(url, {"text": "No comment yet."}, key="reply-1")
    assert again.get_json()["replayed"] is True
    (message,) = analyst.get("/api/v1/inbox").get_json()["messages"]
    assert [r["text"] for r in message["replies"]] == ["No comment yet."]
    foreign = api_as("globex-analyst").post(url, {"text": "hi"})
    assert foreign.status_code == 404


def test_invalid_crisis_messages_are_refused(cworld, api_as):
    manager = api_as("acme-manager")
    url = f"/api/v1/exercises/{cworld.a.exercise_id}/crisis"
    before = row_counts()
    for body in (
        {"channel": "pigeon", "sender": "x", "message": "y"},
        {"channel": "email", "sender": "", "message": "y"},
        {"channel": "email", "sender": "x", "message": ""},
        {"channel": "email", "sender": "x", "message": "y", "reply_within_minutes": -1},
    ):
        assert manager.post(url, body).status_code == 422, body
    assert row_counts() == before
