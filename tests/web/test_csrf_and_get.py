"""CSRF on every state change (forms and JSON), and no state change on GET."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from socdrill import rbac
from socdrill.extensions import db
from socdrill.models import Role
from tests.web.conftest import Browser
from tests.web.routes import all_routes, fetch

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = b"security token is missing or stale"


# Reads of individual skill, cohesion and HR data are audited by design (SECURITY.md):
# the audit log is the one table a GET may append to. Every other table must not move.
READ_AUDITED_TABLES = {"audit_entries"}


def database_dump() -> dict[str, list[tuple]]:
    """Every row of every table but the read audit: stronger than counting rows."""
    dump = {}
    for name, table in db.metadata.tables.items():
        if name in READ_AUDITED_TABLES:
            continue
        rows = db.session.execute(sa.select(table)).all()
        dump[name] = sorted(tuple(map(str, row)) for row in rows)
    return dump


def signed_in_as_someone_allowed(app, world, endpoint: str) -> Browser | None:
    roles = rbac.ALLOW[endpoint]
    if roles is rbac.PUBLIC:
        browser = Browser(app.test_client())
        return browser
    for role in (
        Role.ADMIN,
        Role.MANAGER,
        Role.ANALYST,
        Role.LEAD,
        Role.OBSERVER,
        Role.HR,
    ):
        if role in roles:
            browser = Browser(app.test_client())
            browser.login(world.by_role()[role].username)
            return browser
    return None


def test_every_state_changing_route_refuses_requests_without_the_token(world, app):
    mutating = [route for route in all_routes(app, world) if route.method in MUTATING]
    assert len(mutating) >= 25
    for route in mutating:
        browser = signed_in_as_someone_allowed(app, world, route.endpoint)
        assert browser is not None, route
        db.session.expire_all()
        before = database_dump()
        for attempt in (
            {},
            {"data": {"csrf_token": "forged"}},
            {"json": {"reason": "x"}},
            {"json": {}, "headers": {"X-CSRFToken": "forged"}},
        ):
            response = fetch(browser.client, route, **attempt)
            assert response.status_code == 403, (route, attempt)
            assert CSRF_MESSAGE in response.data, route
        db.session.expire_all()
        assert database_dump() == before, route


def test_with_the_token_no_route_is_refused_for_csrf(world, app):
    for route in all_routes(app, world):
        if route.method not in MUTATING:
            continue
        browser = signed_in_as_someone_allowed(app, world, route.endpoint)
        response = fetch(
            browser.client, route, data={"csrf_token": browser.csrf_token()}
        )
        assert CSRF_MESSAGE not in response.data, route


def test_json_requests_carry_the_token_in_a_header(world, browser):
    browser.login("manager")
    response = browser.post_json(f"/exercises/{world.exercise_a.id}/schedule")
    assert response.status_code == 200
    assert response.get_json()["state"] == "scheduled"


@pytest.mark.parametrize("role", list(Role))
def test_get_requests_never_change_the_database(world, app, role):
    browser = Browser(app.test_client())
    browser.login(world.by_role()[role].username)
    db.session.expire_all()
    before = database_dump()
    for route in all_routes(app, world):
        if route.method == "GET":
            fetch(browser.client, route)
    db.session.expire_all()
    assert database_dump() == before
