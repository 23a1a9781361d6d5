"""API tokens: shown once, stored hashed, prefixed, revocable, header-only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from socdrill.auth.tokens import PREFIX, hash_token
from socdrill.extensions import db
from socdrill.models import ApiToken, AuditEntry, ExerciseState, User
from tests.web.conftest import PASSWORD

TOKEN = re.compile(rb"(sdt_[A-Za-z0-9_\-]{40,})")


def create_token(browser, name: str = "forwarder") -> str:
    response = browser.post("/account/tokens", {"name": name})
    assert response.status_code == 200
    found = TOKEN.findall(response.data)
    assert len(found) == 1
    return found[0].decode()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_is_shown_once_and_only_its_hash_is_stored(world, browser):
    browser.login("manager")
    secret = create_token(browser)
    assert secret.startswith(PREFIX)
    assert len(secret) - len(PREFIX) >= 32  # well over 128 random bits
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.token_hash == hash_token(secret)
    dump = "\n".join(
        str(row) for row in db.session.execute(sa.text("SELECT * FROM api_tokens"))
    )
    assert secret not in dump and secret[len(PREFIX) :] not in dump
    # The list page never shows it again.
    assert secret.encode() not in browser.get("/account/tokens").data
    assert db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "token.create")
    )


def test_a_bearer_token_authenticates_as_its_owner(world, browser, app):
    browser.login("manager")
    secret = create_token(browser)
    api = app.test_client()
    response = api.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 200
    assert response.get_json()["username"] == "manager"
    assert response.get_json()["role"] == "manager"


def test_bearer_requests_need_no_csrf_token_but_sessions_do(world, browser, app):
    browser.login("manager")
    secret = create_token(browser)
    exercise_id = world.exercise_a.id
    api = app.test_client()
    response = api.post(f"/exercises/{exercise_id}/schedule", headers=bearer(secret))
    assert response.status_code == 200
    assert response.get_json()["state"] == "scheduled"
    # The same call from the browser session without a CSRF token is refused.
    assert browser.client.post(f"/exercises/{exercise_id}/endex").status_code == 403


def test_a_revoked_token_is_refused_at_once(world, browser, app):
    browser.login("manager")
    secret = create_token(browser)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    assert browser.post(f"/account/tokens/{token_id}/revoke").status_code == 303
    response = app.test_client().get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401


def test_someone_elses_token_cannot_be_revoked(world, browser, new_browser):
    browser.login("manager")
    create_token(browser)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    other = new_browser()
    other.login("analyst")
    assert other.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_at is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sdt_not-a-real-token",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "sdt_x",
        "Bearer " + "sdt_" + "a" * 300,
    ],
)
def test_bad_authorization_headers_get_401_and_never_fall_back_to_the_session(
    world, browser, header
):
    browser.login("manager")
    response = browser.client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401


@pytest.mark.parametrize("name", ["api_key", "token", "access_token", "API_KEY"])
def test_tokens_in_the_url_are_rejected(world, browser, app, name):
    browser.login("manager")
    secret = create_token(browser)
    response = app.test_client().get(f"/api/v1/me?{name}={secret}")
    assert response.status_code == 400
    assert b"Authorization header" in response.data


def test_disabling_the_owner_kills_the_token(world, browser, app):
    browser.login("manager")
    secret = create_token(browser)
    user = db.session.get(User, world.manager.id)
    user.active = False
    db.session.commit()
    assert (
        app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 401
    )


def test_a_password_change_revokes_the_owners_tokens(world, browser, app):
    browser.login("manager")
    secret = create_token(browser)
    new = "another long passphrase"
    browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert (
        app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 401
    )


def test_a_token_keeps_its_owners_role_limits(world, browser, app):
    browser.login("analyst")
    secret = create_token(browser)
    api = app.test_client()
    exercise_id = world.exercise_a.id
    response = api.post(f"/exercises/{exercise_id}/schedule", headers=bearer(secret))
    assert response.status_code == 403
    db.session.expire_all()
    assert world.exercise_a.state == ExerciseState.DRAFT


def test_an_empty_token_name_is_refused(world, browser):
    browser.login("manager")
    response = browser.post("/account/tokens", {"name": ""})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0
