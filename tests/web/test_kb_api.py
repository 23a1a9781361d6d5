"""The knowledge base: write, revise, search, read; views and edits recorded."""

from __future__ import annotations

from socdrill.extensions import db
from socdrill.models import KbRevision, KbView
from tests.web import test_console_support as support
from tests.web.conftest import row_counts
from tests.web.test_console_support import activities

cworld = support.cworld
api_as = support.api_as

ARTICLE = {
    "title": "Password spraying playbook",
    "body": "# Steps\n\n1. Block the source\n2. Reset <b>accounts</b>",
    "scope": "identity",
    "techniques": ["T1110.003"],
}


def write(api) -> int:
    response = api.post("/api/v1/kb", ARTICLE)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["article_id"]


def test_writing_an_article_records_kb_write_for_the_team_exercise(cworld, api_as):
    api = api_as("acme-analyst")
    article_id = write(api)
    article = api.get(f"/api/v1/kb/{article_id}").get_json()
    assert article["team"] == "Team acme" and article["version"] == 1
    assert "<h1>Steps</h1>" in article["html"]
    assert "<b>" not in article["html"]
    (row,) = activities(cworld.a.exercise_id, "kb_write")
    assert row.payload["targets"] == [str(article_id)]
    assert row.payload["fields"]["scope"] == "identity"


def test_reading_through_get_changes_nothing_and_the_view_post_records_it(
    cworld, api_as
):
    api = api_as("acme-analyst")
    article_id = write(api)
    before = row_counts()
    api.get(f"/api/v1/kb/{article_id}")
    api.get("/api/v1/kb", q="spraying")
    assert row_counts() == before
    response = api.post(f"/api/v1/kb/{article_id}/views")
    assert response.status_code == 200
    assert db.session.query(KbView).count() == 1
    assert len(activities(cworld.a.exercise_id, "kb_view")) == 1
    assert api.get(f"/api/v1/kb/{article_id}").get_json()["views"] == 1


def test_edits_keep_every_revision_and_refuse_a_stale_version(cworld, api_as):
    api = api_as("acme-analyst")
    article_id = write(api)
    other = api_as("acme-lead")
    assert (
        other.patch(
            f"/api/v1/kb/{article_id}", {"version": 1, "body": "Updated"}
        ).status_code
        == 200
    )
    stale = api.patch(f"/api/v1/kb/{article_id}", {"version": 1, "body": "Mine"})
    assert stale.status_code == 409
    versions = [r.version for r in db.session.query(KbRevision).order_by("version")]
    assert versions == [1, 2]
    assert len(activities(cworld.a.exercise_id, "kb_write")) == 2


def test_search_by_words_scope_and_technique(cworld, api_as):
    api = api_as("acme-analyst")
    write(api)
    assert len(api.get("/api/v1/kb", q="SPRAYING playbook").get_json()["articles"]) == 1
    assert api.get("/api/v1/kb", q="ransom").get_json()["articles"] == []
    assert len(api.get("/api/v1/kb", scope="identity").get_json()["articles"]) == 1
    assert api.get("/api/v1/kb", scope="windows").get_json()["articles"] == []
    assert len(api.get("/api/v1/kb", technique="T1110").get_json()["articles"]) == 1
    assert api.get("/api/v1/kb", scope="kitchen").status_code == 422
    assert api.get("/api/v1/kb", q="100%_").status_code == 200


def test_another_teams_article_answers_404(cworld, api_as):
    article_id = write(api_as("acme-analyst"))
    other = api_as("globex-analyst")
    assert other.get(f"/api/v1/kb/{article_id}").status_code == 404
    assert other.post(f"/api/v1/kb/{article_id}/views").status_code == 404
    assert other.patch(f"/api/v1/kb/{article_id}", {"body": "x"}).status_code == 404
    assert other.get("/api/v1/kb").get_json()["articles"] == []


def test_invalid_articles_are_refused(cworld, api_as):
    api = api_as("acme-analyst")
    before = row_counts()
    for body, field in (
        ({**ARTICLE, "scope": "kitchen"}, "body.scope"),
        ({**ARTICLE, "techniques": ["T0000"]}, "techniques.0"),
        ({**ARTICLE, "title": ""}, "body.title"),
        ({**ARTICLE, "team": "Team globex"}, "team"),
        ({**ARTICLE, "team_id": 2}, "body.team_id"),
    ):
        response = api.post("/api/v1/kb", body)
        assert response.status_code in (404, 422), body
        assert field in response.get_json()["error"]["fields"], body
    assert row_counts() == before
