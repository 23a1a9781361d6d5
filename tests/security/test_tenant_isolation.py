"""Tenant and team isolation, generically: every route with an id converter gets the
other tenant's ids (and the other team's), every list, search and export is read
for the other tenant's data.

The oracle for an object outside a person's scope is "indistinguishable from one
that does not exist": 404, or exactly the answer a missing id gets, never a success,
never the other side's text, and nothing changed in the database.
"""

from __future__ import annotations

import pytest

from socdrill import rbac
from socdrill.models import Role
from tests.security.conftest import (
    FOREIGN_MARK,
    MISSING_ID,
    MUTATING,
    Route,
    all_rows,
    assert_unchanged,
    concrete_routes,
    send,
)

# People who see every tenant by design (the admin) are not probed across tenants.
SCOPED_ROLES = [Role.MANAGER, Role.LEAD, Role.ANALYST, Role.HR, Role.OBSERVER]
# Converters that do not name a tenant's object.
UNSCOPED = frozenset({"filename"})
FOREIGN_WORDS = (FOREIGN_MARK, "globex")


def id_routes(app, ids) -> list[Route]:
    return [
        route
        for route in concrete_routes(app, ids)
        if set(route.arguments) - UNSCOPED and route.endpoint != "auth.logout"
    ]


def missing_ids(ids: dict) -> dict:
    return {
        key: (value if key == "filename" else MISSING_ID) for key, value in ids.items()
    }


def assert_no_foreign_data(route: Route, body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    for word in FOREIGN_WORDS:
        assert word not in text, (route, word)


@pytest.mark.parametrize("role", SCOPED_ROLES, ids=str)
def test_another_tenants_objects_answer_like_missing_ones(seeded, role):
    app, world = seeded
    browser = world.browser(app, role)
    foreign = {r.url + r.method: r for r in id_routes(app, world.ids["globex"])}
    missing = {
        (r.endpoint, r.method): r
        for r in id_routes(app, missing_ids(world.ids["acme"]))
    }
    before = all_rows()
    probed = 0
    for route in foreign.values():
        if not rbac.allowed(route.endpoint, role):
            continue
        probed += 1
        response = send(browser, route)
        assert_no_foreign_data(route, response.data)
        if response.status_code != 404:
            # e.g. a form refused before any lookup: exactly what a missing id gets
            twin = send(browser, missing[(route.endpoint, route.method)])
            assert (response.status_code, response.headers.get("Location")) == (
                twin.status_code,
                twin.headers.get("Location", "").replace(
                    str(MISSING_ID), route.url.split("/")[3]
                )
                or None,
            ), (role, route, response.status_code, twin.status_code)
            assert response.status_code >= 300, (role, route, response.status_code)
    assert probed >= 1
    assert_unchanged(before, "a request on another tenant's object changed data")


@pytest.mark.parametrize("role", [*SCOPED_ROLES, "acme2-analyst", "acme2-lead"])
def test_no_page_list_search_or_export_shows_another_tenants_data(seeded, role):
    app, world = seeded
    browser = world.browser(app, role)
    for route in concrete_routes(app, world.ids["acme"]):
        if route.method == "GET" and rbac.allowed(route.endpoint, _role(world, role)):
            response = send(browser, route)
            assert_no_foreign_data(route, response.data)


def _role(world, principal) -> Role:
    if isinstance(principal, Role):
        return principal
    return Role.LEAD if principal.endswith("lead") else Role.ANALYST


SCOPE_PROBES = [
    ("GET", "/api/v1/search?q=*&tenant=globex"),
    ("GET", "/api/v1/search/histogram?q=*&tenant=globex"),
    ("GET", "/api/v1/search/top?q=*&field=host&tenant=globex"),
    ("GET", "/api/v1/alerts?tenant=globex"),
    ("GET", "/api/v1/incidents?tenant=globex"),
    ("GET", "/api/v1/chat?team=Team%20globex"),
    ("GET", "/api/v1/kb?q=GLOBEX"),
    ("GET", "/console/search/results?q=*&tenant=globex"),
    ("GET", "/console/alerts/rows?tenant=globex"),
    ("GET", "/console/chat/messages?team=Team%20globex"),
]


@pytest.mark.parametrize(("method", "url"), SCOPE_PROBES)
def test_naming_another_tenant_or_team_in_a_query_finds_nothing(seeded, method, url):
    app, world = seeded
    response = send(world.browser(app, Role.ANALYST), Route("probe", method, url, ()))
    # (the answer may repeat the name asked for; it must hold none of B's data)
    assert FOREIGN_MARK not in response.get_data(as_text=True), url
    assert response.status_code in (200, 404, 422), response.status_code


def test_foreign_ids_inside_a_body_are_refused_and_change_nothing(seeded):
    app, world = seeded
    api = world.api(app, Role.ANALYST)
    b = world.ids["globex"]
    before = all_rows()
    attempts = [
        ("POST", "/api/v1/alerts/ack", {"alert_ids": [b["alert_id"]]}),
        ("POST", "/api/v1/alerts/close", {"alert_ids": [b["alert_id"]]}),
        (
            "POST",
            "/api/v1/incidents",
            {"title": "x", "tenant": "globex"},
        ),
        (
            "POST",
            "/api/v1/incidents",
            {"title": "x", "tenant": "acme", "alert_ids": [b["alert_id"]]},
        ),
        (
            "POST",
            "/api/v1/incidents",
            {"title": "x", "tenant": "acme", "event_ids": [b["event_id"]]},
        ),
        ("POST", "/api/v1/findings", {"value": "x", "event_id": b["event_id"]}),
        ("POST", "/api/v1/chat", {"team": "Team globex", "body": "hello"}),
        (
            "PATCH",
            f"/api/v1/incidents/{world.ids['acme']['incident_id']}",
            {"kb_article_ids": [b["article_id"]]},
        ),
        (
            "POST",
            f"/api/v1/incidents/{world.ids['acme']['incident_id']}/assignees",
            {"assignees": ["globex-analyst"]},
        ),
    ]
    for method, url, body in attempts:
        response = api.send(method, url, body)
        assert response.status_code in (404, 409, 422), (
            url,
            body,
            response.status_code,
        )
        # (the answer may repeat the tenant named; it must hold none of B's data)
        assert FOREIGN_MARK not in response.get_data(as_text=True), url
    assert_unchanged(before)


TEAM_SCOPED = {
    # another team of the same tenant: its drill's debrief, scores and channel
    "review.debrief",
    "review.report",
    "review.export",
    "review_api.debrief",
    "review_api.export",
    "review.team",
    "review.team_export",
    "review_api.team_view",
}


@pytest.mark.parametrize("username", ["acme2-analyst", "acme2-lead"])
def test_another_teams_debrief_and_scores_answer_404(seeded, username):
    app, world = seeded
    browser = world.browser(app, username)
    role = _role(world, username)
    probed = 0
    for route in concrete_routes(app, world.ids["acme"]):
        if route.endpoint not in TEAM_SCOPED or route.method in MUTATING:
            continue
        if not rbac.allowed(route.endpoint, role):
            continue
        probed += 1
        response = send(browser, route)
        assert_no_foreign_data(route, response.data)
        assert "ACME-ONLY" not in response.get_data(as_text=True), route
        if response.status_code != 404:  # refused before any lookup, like a miss
            twin = route.url.replace(f"/{route_id(route)}", f"/{MISSING_ID}")
            missing = send(browser, Route(route.endpoint, route.method, twin, ()))
            assert response.status_code == missing.status_code >= 400, route
    assert probed >= 3


def route_id(route: Route) -> str:
    return next(part for part in route.url.split("/") if part.isdigit())


def test_another_teams_channel_is_not_readable(seeded):
    app, world = seeded
    api = world.api(app, "acme2-analyst")
    body = api.get("/api/v1/chat").get_json()
    assert "ACME-ONLY chat" not in str(body)
    assert api.get("/api/v1/chat", team="Team acme").status_code == 404
