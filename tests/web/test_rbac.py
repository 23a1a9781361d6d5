"""The allow-table: every route classified, deny by default, roles enforced."""

from __future__ import annotations

import pytest

from socdrill import rbac
from socdrill.models import Role
from tests.web.conftest import Browser
from tests.web.routes import all_routes, fetch


def test_every_route_is_classified_in_the_allow_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = endpoints - set(rbac.ALLOW)
    assert not unclassified, (
        f"classify these endpoints in socdrill/rbac.py: {unclassified}"
    )


def test_the_allow_table_has_no_stale_entries(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(rbac.ALLOW) - endpoints == set()


def test_an_unlisted_route_is_refused_even_for_an_admin(world, app):
    @app.get("/not-classified")
    def not_classified() -> str:
        return "should never be served"

    browser = Browser(app.test_client())
    browser.login("admin")
    response = browser.get("/not-classified")
    assert response.status_code == 403
    assert b"should never be served" not in response.data


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_the_routes_the_table_allows(world, app, role):
    """A role outside an endpoint's list gets 403 before the view runs; a role
    inside it is never refused by the table (GET routes are walked in full)."""
    username = world.by_role()[role].username
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    for route in all_routes(app, world):
        if route.endpoint == "auth.logout":
            continue
        allowed = rbac.allowed(route.endpoint, role)
        if not allowed:
            response = fetch(browser.client, route)
            assert response.status_code == 403, (route, role)
        elif route.method == "GET":
            response = fetch(browser.client, route)
            assert response.status_code not in (401, 403), (route, role)


def test_anonymous_visitors_reach_only_public_routes(world, app):
    browser = Browser(app.test_client())
    for route in all_routes(app, world):
        token = {"csrf_token": browser.csrf_token()} if route.method != "GET" else None
        response = fetch(browser.client, route, data=token)
        if rbac.ALLOW[route.endpoint] is rbac.PUBLIC:
            # (POST /login without credentials is a failed login: 401.)
            assert response.status_code != 403, route
            assert response.status_code != 302 or route.endpoint == "auth.login"
        elif route.method == "GET" and not route.url.startswith("/api/"):
            assert response.status_code == 302, route
            assert "/login" in response.headers["Location"]
        else:
            assert response.status_code in (401, 403), route


def test_api_clients_get_401_not_a_login_redirect(world, app):
    response = app.test_client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json() == {
        "error": {"code": "unauthenticated", "message": "Please sign in.", "fields": {}}
    }


def test_launch_is_a_separate_right_from_managing(world, app):
    browser = Browser(app.test_client())
    browser.login("manager2")  # a manager without the launch grant
    exercise_id = world.exercise_a.id
    assert browser.post(f"/exercises/{exercise_id}/schedule").status_code == 303
    response = browser.post_json(f"/exercises/{exercise_id}/start")
    assert response.status_code == 403
    assert "launch grant" in response.get_json()["error"]
