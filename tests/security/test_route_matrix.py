"""Route × role: every route of ``app.url_map`` and every Socket.IO event, for
anonymous visitors and each of the six roles, against the one allow-table.

A request that the allow-table lets in is stopped right after the guard by a hook
(so the matrix changes nothing); one it refuses must never get that far and must
answer what a refusal answers: a login redirect or 401 for anonymous visitors, 403
for a signed-in role outside the list.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response, request

from socdrill import rbac
from socdrill.models import Role
from tests.security.conftest import (
    ANONYMOUS,
    MUTATING,
    PRINCIPALS,
    Route,
    concrete_routes,
)

STOPPED = 299


class StopAfterGuard:
    """A hook after the guard: while armed, it records the request and answers 299
    at once, so no view runs."""

    def __init__(self, app: Flask) -> None:
        self.passed: list[str | None] = []
        self.armed = False
        app.before_request_funcs.setdefault(None, []).append(self._stop)

    def _stop(self) -> Response | None:
        if not self.armed:
            return None
        self.passed.append(request.endpoint)
        return Response("stopped after the guard", status=STOPPED)

    def send(self, browser: Any, route: Route, token: str) -> tuple[bool, Any]:
        """Send ``route`` armed: did it get past the guard, and what came back?"""
        headers = {"X-CSRFToken": token} if route.method in MUTATING else {}
        body = {"json": {}} if route.method in MUTATING else {}
        before = len(self.passed)
        self.armed = True
        try:
            response = browser.client.open(
                route.url, method=route.method, headers=headers, **body
            )
            response.get_data()
            response.close()
        finally:
            self.armed = False
        return len(self.passed) > before, response


@pytest.fixture(scope="module")
def stopper(seeded) -> StopAfterGuard:
    return StopAfterGuard(seeded[0])


def test_every_route_is_classified_and_the_table_has_no_stale_entries(seeded):
    app, _ = seeded
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(rbac.ALLOW) == set(), "classify these in socdrill/rbac.py"
    assert set(rbac.ALLOW) - endpoints == set(), "stale entries in socdrill/rbac.py"


def test_an_unclassified_route_is_refused_for_every_role(tmp_path, monkeypatch):
    from tests.security.conftest import security_app
    from tests.web.conftest import Browser, make_user

    app = security_app(tmp_path, monkeypatch)

    @app.route("/new-feature", methods=["GET", "POST"])
    def new_feature() -> str:
        return "served"

    with app.app_context():
        for role in Role:
            make_user(f"new-{role.value}", role)
        for role in Role:
            browser = Browser(app.test_client())
            browser.login(f"new-{role.value}")
            assert browser.get("/new-feature").status_code == 403, role
            assert browser.post("/new-feature").status_code == 403, role
        assert app.test_client().get("/new-feature").status_code in (302, 401, 403)


def expected_refusal(principal: Role | str, route: Route, response: Any) -> None:
    if principal == ANONYMOUS:
        if route.method == "GET" and not route.url.startswith("/api/"):
            assert response.status_code == 302, (route, response.status_code)
            assert "/login" in response.headers["Location"], route
        else:
            assert response.status_code == 401, (route, response.status_code)
    else:
        assert response.status_code == 403, (principal, route, response.status_code)


@pytest.mark.parametrize("principal", PRINCIPALS, ids=str)
def test_each_principal_reaches_exactly_the_routes_the_table_allows(
    seeded, stopper, principal
):
    app, world = seeded
    browser = world.browser(app, principal)
    routes = concrete_routes(app, world.ids["acme"])
    assert len(routes) > 100
    role = None if principal == ANONYMOUS else principal
    token = browser.csrf_token()
    for route in routes:
        reached, response = stopper.send(browser, route, token)
        if rbac.allowed(route.endpoint, role):  # type: ignore[arg-type]
            assert reached, (principal, route, response.status_code)
            assert response.status_code == STOPPED
        else:
            assert not reached, (principal, route)
            expected_refusal(principal, route, response)
