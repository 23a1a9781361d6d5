"""Field-level authorisation and mass assignment.

Analysts and observers read the console and the API every day; none of their
answers may carry cohesion, skill or HR fields, and outside the review pages (where
an analyst reads their own part) no score either. Bodies that try to set ``role``,
``tenant_id``, ``score`` or ``exercise_id`` are refused and change nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from socdrill import rbac
from socdrill.models import Role
from tests.security.conftest import (
    all_rows,
    assert_unchanged,
    concrete_routes,
    send,
)

NEVER = re.compile(r"cohesion|hr_|people_analytics", re.I)
# A person's own skills and scores: on their own review pages only (SCORING.md,
# HR rule 3), never anywhere else and never someone else's.
NOT_OUTSIDE_REVIEW = re.compile(r"score|skill|theta", re.I)
TEAMMATES = ("acme-analyst2", "acme-lead")
REVIEW = ("review.", "review_api.")
SMUGGLED = {"role": "admin", "tenant_id": 2, "score": 100, "exercise_id": 2}


def json_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in json_keys(v)}
    return set()


@pytest.mark.parametrize("role", [Role.ANALYST, Role.OBSERVER], ids=str)
def test_players_and_observers_never_receive_hr_or_skill_fields(seeded, role):
    app, world = seeded
    browser = world.browser(app, role)
    read = 0
    for route in concrete_routes(app, world.ids["acme"]):
        if route.method != "GET" or not rbac.allowed(route.endpoint, role):
            continue
        if route.endpoint == "api_docs.openapi_document":
            continue  # the public schema names every field, it holds no data
        response = send(browser, route, headers={"Accept": "application/json"})
        if not response.is_json:
            continue
        read += 1
        keys = json_keys(json.loads(response.data))
        assert not {k for k in keys if NEVER.search(k)}, route
        if not route.endpoint.startswith(REVIEW):
            assert not {k for k in keys if NOT_OUTSIDE_REVIEW.search(k)}, route
        elif role == Role.ANALYST and {k for k in keys if NOT_OUTSIDE_REVIEW.search(k)}:
            text = response.get_data(as_text=True)
            assert not [name for name in TEAMMATES if name in text], route
    assert read >= 15


def test_score_pages_are_never_cached(seeded):
    app, world = seeded
    for role, url in (
        (Role.HR, "/review/hr"),
        (Role.HR, "/api/v1/review/hr"),
        (Role.ANALYST, "/review/me"),
        (Role.LEAD, f"/review/teams/{world.ids['acme']['team_id']}"),
    ):
        response = world.browser(app, role).get(url)
        assert response.headers["Cache-Control"] == "no-store", url


def smuggle_attempts(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    incident, article = ids["incident_id"], ids["article_id"]
    return [
        ("PATCH", f"/api/v1/incidents/{incident}", {"title": "renamed", **SMUGGLED}),
        ("POST", "/api/v1/incidents", {"title": "new", "tenant": "acme", **SMUGGLED}),
        ("PATCH", f"/api/v1/kb/{article}", {"title": "renamed", **SMUGGLED}),
        ("POST", "/api/v1/kb", {"title": "t", "body": "b", **SMUGGLED}),
        ("POST", "/api/v1/chat", {"body": "hello", **SMUGGLED}),
        ("POST", f"/api/v1/incidents/{incident}/notes", {"text": "n", **SMUGGLED}),
        ("POST", "/api/v1/saved-searches", {"name": "n", "query": "x", **SMUGGLED}),
        ("POST", "/api/v1/alerts/ack", {"alert_ids": [ids["alert_id"]], **SMUGGLED}),
    ]


def test_mass_assignment_is_refused_and_changes_nothing(seeded):
    app, world = seeded
    api = world.api(app, Role.ANALYST)
    before = all_rows()
    for method, url, body in smuggle_attempts(world.ids["acme"]):
        response = api.send(method, url, body)
        assert response.status_code == 422, (url, response.status_code)
        fields = response.get_json()["error"]["fields"]
        assert set(fields) & {f"body.{name}" for name in SMUGGLED} or fields, url
    assert_unchanged(before)


def test_account_forms_ignore_a_smuggled_role_or_owner(seeded):
    app, world = seeded
    browser = world.browser(app, Role.ANALYST)
    b_owner = world.ids["globex"]["user_id"]
    response = browser.post(
        "/account/tokens", {"name": "smuggle", "user_id": b_owner, "role": "admin"}
    )
    assert response.status_code == 200
    from sqlalchemy import select

    from socdrill.extensions import db
    from socdrill.models import ApiToken, User

    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "smuggle"))
    assert token.user.username == world.usernames[Role.ANALYST]
    me = db.session.scalar(
        select(User).where(User.username == world.usernames[Role.ANALYST])
    )
    assert me.role == Role.ANALYST
    # the admin form is the only place a role changes, and only for admins
    assert browser.post(f"/admin/users/{me.id}", {"role": "admin"}).status_code == 403
