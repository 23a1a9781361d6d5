"""The team channel: mentions and links, metadata-only activity, escaping."""

from __future__ import annotations

from socdrill.console import chat
from tests.web import test_console_support as support
from tests.web.test_console_support import activities

cworld = support.cworld
api_as = support.api_as


def test_a_message_records_mentions_and_references_but_not_its_text(cworld, api_as):
    api = api_as("acme-analyst")
    alert_id = cworld.alert_ids["a"][0]
    body = (
        f"@acme-lead look at alert:{alert_id} and INC-4, `{cworld.a.hosts[0]}` "
        "talks to 192.0.2.44; @nobody-here"
    )
    response = api.post("/api/v1/chat", {"body": body})
    assert response.status_code == 201, response.get_json()
    (message,) = api.get("/api/v1/chat").get_json()["messages"]
    assert message["mentions"] == ["acme-lead"]
    assert message["refs"] == [f"alert:{alert_id}", "incident:4"]
    (row,) = activities(cworld.a.exercise_id, "chat")
    assert row.payload["fields"]["mentions"] == ["acme-lead"]
    assert row.payload["targets"] == [
        str(alert_id),
        "INC-4",
        cworld.a.hosts[0],
        "192.0.2.44",
    ]
    assert "talks to" not in str(row.payload)


def test_another_teams_channel_is_not_found(cworld, api_as):
    api = api_as("acme-analyst")
    assert api.get("/api/v1/chat", team="Team globex").status_code == 404
    assert (
        api.post("/api/v1/chat", {"team": "Team globex", "body": "hi"}).status_code
        == 404
    )
    api_as("globex-analyst").post("/api/v1/chat", {"body": "secret"})
    assert api.get("/api/v1/chat").get_json()["messages"] == []


def test_empty_or_oversized_messages_are_refused(cworld, api_as):
    api = api_as("acme-analyst")
    assert api.post("/api/v1/chat", {"body": ""}).status_code == 422
    assert api.post("/api/v1/chat", {"body": "x" * 4001}).status_code == 422
    assert api.post("/api/v1/chat", {"body": "   "}).status_code == 422
    assert activities(cworld.a.exercise_id, "chat") == []


def test_rendering_escapes_the_text_and_links_only_alerts_and_incidents():
    html = str(
        chat.render(
            '<img src=x onerror=alert(1)> alert:7 INC-3 @bo `<b>` "q"',
            "/console/alerts/0",
            "/console/incidents/0",
        )
    )
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<a href="/console/alerts/7">alert:7</a>' in html
    assert '<a href="/console/incidents/3">INC-3</a>' in html
    assert '<strong class="mention">@bo</strong>' in html
    assert "<code>&lt;b&gt;</code>" in html
