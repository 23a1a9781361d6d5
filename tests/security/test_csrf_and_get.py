"""CSRF on every state-changing route (forms and JSON), and no GET that changes
anything, for every principal: both walked from ``app.url_map``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from socdrill import rbac
from socdrill.models import Role
from tests.security.conftest import (
    ANONYMOUS,
    MUTATING,
    PRINCIPALS,
    all_rows,
    assert_unchanged,
    concrete_routes,
    send,
)

CSRF_REFUSAL = b"security token is missing or stale"
# Who sends the forged requests: someone each route lets in, so only CSRF can stop it.
SENDERS = (Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST, Role.HR, Role.OBSERVER)


def sender_for(endpoint: str) -> Role | str:
    roles = rbac.ALLOW[endpoint]
    if roles is rbac.PUBLIC:
        return ANONYMOUS
    return next(role for role in SENDERS if role in roles)


def forged_requests(other_token: str) -> list[dict]:
    return [
        {},  # a form post from another site: no token at all
        {"data": {"csrf_token": "forged"}},
        {"data": {"csrf_token": other_token}},  # a token of another session
        {"json": {"reason": "x"}},
        {"json": {}, "headers": {"X-CSRFToken": "forged"}},
        {"json": {}, "headers": {"X-CSRFToken": other_token}},
        {"data": "{}", "content_type": "text/plain"},  # the no-preflight JSON trick
    ]


def test_every_state_changing_route_needs_this_sessions_token(seeded):
    app, world = seeded
    other_token = world.browser(app, "acme-analyst2").csrf_token()
    routes = [
        r for r in concrete_routes(app, world.ids["acme"]) if r.method in MUTATING
    ]
    assert len(routes) >= 60
    for principal in (ANONYMOUS, *SENDERS):
        world.browser(app, principal)  # sign in first: a login changes rows
    before = all_rows()
    for route in routes:
        if route.endpoint == "auth.logout":
            continue
        browser = world.browser(app, sender_for(route.endpoint))
        for attempt in forged_requests(other_token):
            response = send(browser, route, csrf=False, **attempt)
            assert response.status_code == 403, (route, attempt, response.status_code)
            assert CSRF_REFUSAL in response.data or response.is_json, route
    assert_unchanged(before)


def test_logout_without_the_token_keeps_the_session(seeded):
    app, world = seeded
    browser = world.browser(app, Role.OBSERVER)
    assert browser.client.post("/logout").status_code == 403
    assert browser.get("/dashboard").status_code == 200


def test_an_authorization_header_never_falls_back_to_the_session(seeded):
    app, world = seeded
    browser = world.browser(app, Role.MANAGER)
    for header in ("Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer ", "sdt_x"):
        response = browser.client.post(
            f"/api/v1/exercises/{world.ids['acme']['exercise_id']}/pause",
            json={},
            headers={"Authorization": header},
        )
        assert response.status_code == 401, header


READ_AUDITS = ("review.read", "hr.read")


def drop_read_audits(before: dict) -> None:
    """Reads of scores write an audit row by design (SECURITY.md): the one kind of
    row a GET may add. Every other row must stay as it was."""
    from socdrill.extensions import db
    from socdrill.models import AuditEntry

    added = db.session.scalars(
        sa.select(AuditEntry.id).where(AuditEntry.action.in_(READ_AUDITS))
    ).all()
    current = {row[0] for row in before["audit_entries"]}
    for row in all_rows()["audit_entries"]:
        if int(row[0]) in added and row[0] not in current:
            before["audit_entries"].append(row)


@pytest.mark.parametrize("principal", PRINCIPALS, ids=str)
def test_get_head_and_options_never_change_the_database(seeded, principal):
    app, world = seeded
    browser = world.browser(app, principal)
    before = all_rows()
    walked = 0
    for route in concrete_routes(app, world.ids["acme"]):
        if route.method != "GET":
            continue
        walked += 1
        for method in ("GET", "HEAD", "OPTIONS"):
            send(browser, route.__class__(route.endpoint, method, route.url, ()))
    assert walked >= 60
    drop_read_audits(before)
    assert_unchanged(before, f"a GET as {principal} changed the database")
