"""Console pages: they render, escape every free-text field, sanitise markdown,
and keep secret drills secret."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from socdrill import markdown
from socdrill.extensions import db
from tests.web import test_console_support as support
from tests.web.test_console_support import raise_alerts

cworld = support.cworld
api_as = support.api_as
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'><svg onload=alert(2)>'


def test_markdown_keeps_formatting_and_drops_everything_dangerous():
    html = str(
        markdown.render(
            "# Title\n\n**bold** [web](https://example.org) [mail](mailto:a@b.example)"
            " [js](javascript:alert(1)) <script>x</script>\n\n"
            '<a href="https://evil.example" onclick="x">raw</a>\n\n'
            "| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html and 'href="mailto:a@b.example"' in html
    assert 'href="javascript' not in html
    assert "<script" not in html
    assert re.search(r"<[^>]*\son\w+=", html) is None, "no event handler in a tag"
    assert "<table>" in html
    assert markdown.render("") == ""


@pytest.mark.parametrize(
    "html",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        '<img src="x" onerror="alert(1)">',
        '<p style="color:red">x</p>',
        "<iframe src='https://example.org'></iframe>",
    ],
)
def test_the_sanitiser_refuses_scripts_styles_and_foreign_schemes(html):
    clean = markdown.sanitise(html)
    for bad in ("javascript:", "data:", "onerror", "style=", "<iframe", "<img"):
        assert bad not in clean


def test_every_console_page_escapes_free_text(cworld, api_as):
    api = api_as("acme-analyst")
    alert_id = cworld.alert_ids["a"][0]
    incident = api.post(
        "/api/v1/alerts/escalate", {"alert_ids": [alert_id], "title": XSS}
    ).get_json()["data"]["incident_id"]
    sections = dict.fromkeys(
        ("context", "facts", "analysis", "conclusion", "remediation", "impact"), XSS
    )
    assert api.patch(f"/api/v1/incidents/{incident}", sections).status_code == 200
    api.post(f"/api/v1/incidents/{incident}/notes", {"text": XSS})
    report = api.post(
        f"/api/v1/incidents/{incident}/reports",
        {"recipient": "a@b.example", "message": XSS},
    ).get_json()["data"]["report_id"]
    article = api.post(
        "/api/v1/kb", {"title": XSS, "body": XSS, "scope": "windows"}
    ).get_json()["data"]["article_id"]
    api.post("/api/v1/chat", {"body": XSS})
    api.post("/api/v1/saved-searches", {"name": XSS, "query": "*"})
    pages = [
        "/console",
        "/console/alerts/rows",
        f"/console/alerts/{alert_id}",
        "/console/search",
        '/console/search/results?q="<script>"',
        "/console/incidents",
        f"/console/incidents/{incident}",
        f"/console/incidents/{incident}/reports/{report}",
        "/console/kb",
        f"/console/kb/{article}",
        f"/console/kb/{article}/edit",
        "/console/chat",
        "/console/chat/messages",
        "/console/inbox",
    ]
    for url in pages:
        response = api.browser.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page and "<svg onload" not in page, url
        policy = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "script-src 'self' 'nonce-" in policy


def test_a_bad_search_shows_the_position_of_the_problem(cworld, api_as):
    page = api_as("acme-analyst").browser.get(
        "/console/search/results?q=EventID:(4625%20OR"
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-position="16"' in text and "<mark>" in text


def test_the_live_view_is_for_control_only(cworld, api_as):
    url = f"/exercises/{cworld.a.exercise_id}/live"
    manager = api_as("acme-manager").browser.get(url)
    assert manager.status_code == 200
    assert b"Ground truth" in manager.data
    assert api_as("acme-analyst").browser.get(url).status_code == 404
    assert api_as("globex-manager").browser.get(url).status_code == 404


def test_a_secret_drill_is_not_named_in_the_analysts_pages(ctx, api_as):
    support.make_side("initech", announced=False)
    api = api_as("initech-analyst")
    for url in ("/console", "/console/inbox", "/console/incidents", "/dashboard"):
        page = api.browser.get(url)
        assert page.status_code == 200, url
        assert b"Drill initech" not in page.data, url


def test_unknown_objects_answer_404_pages(cworld, api_as):
    api = api_as("acme-analyst")
    for url in (
        "/console/alerts/999",
        f"/console/alerts/{cworld.alert_ids['b'][0]}",
        "/console/incidents/999",
        "/console/kb/999",
        "/console/events/999",
        "/console/chat?team=Team%20globex",
    ):
        assert api.browser.get(url).status_code == 404, url


def test_control_gets_a_dry_run_button_and_participants_do_not(cworld, api_as):
    url = f"/exercises/{cworld.a.exercise_id}"
    page = api_as("acme-manager").browser.get(url).get_data(as_text=True)
    assert "/api/v1/engine/dry-run" in page and "Live view" in page
    page = api_as("acme-analyst").browser.get(url).get_data(as_text=True)
    assert "/api/v1/engine/dry-run" not in page and "Live view" not in page


def _statements_for(api, url: str) -> int:
    """Statements the request sends to the platform's database."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert api.browser.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_queue_costs_the_same_few_queries_however_many_alerts_it_shows(
    ctx, cworld, api_as
):
    api = api_as("acme-analyst")
    few = _statements_for(api, "/console/alerts/rows")
    page_few = _statements_for(api, "/console")
    more = raise_alerts(ctx, "acme", cworld.a.exercise_id, cworld.a.hosts[2:8])
    assert len(more) >= 5
    # Half of the queue triaged and assigned: their owners are shown by name.
    acked = api.post("/api/v1/alerts/ack", {"alert_ids": more[:3]}, key="k1")
    assert acked.status_code == 200
    rows = api.browser.get("/console/alerts/rows").get_data(as_text=True)
    assert all(f"/console/alerts/{i}" in rows for i in more)
    assert _statements_for(api, "/console/alerts/rows") == few
    assert _statements_for(api, "/console") == page_few
    assert few <= 15
