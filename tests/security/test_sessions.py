"""Sessions and authentication under attack: fixation, replay after logout, password
change and disable, blank passwords on every path, guessing limits, cookie flags,
production secrets and the storage of API tokens."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
import sqlalchemy as sa

from socdrill import create_app
from socdrill.auth.sessions import LOGIN_AT, SEEN_AT
from socdrill.config import ConfigError
from socdrill.extensions import db
from socdrill.models import ApiToken, AuditEntry, User
from tests.web.conftest import PASSWORD, Browser

TOKEN = re.compile(r"sdt_[A-Za-z0-9_\-]{40,}")


def signed_in(browser: Browser) -> bool:
    return browser.get("/dashboard").status_code == 200


def cookie_of(browser: Browser) -> str:
    return browser.client.get_cookie("socdrill_session").value


def replay(new_browser, cookie: str) -> Browser:
    thief = new_browser()
    thief.client.set_cookie("socdrill_session", cookie)
    return thief


def new_token(browser: Browser, name: str = "laptop") -> str:
    page = browser.post("/account/tokens", {"name": name}).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, "the new token is shown once"
    return match.group(0)


def test_a_cookie_planted_before_login_is_worthless_after_it(world, app, new_browser):
    attacker = new_browser()
    attacker.csrf_token()
    planted = cookie_of(attacker)
    victim = new_browser()
    victim.client.set_cookie("socdrill_session", planted)
    assert victim.login("analyst").status_code == 302
    assert cookie_of(victim) != planted
    assert not signed_in(replay(new_browser, planted))


def test_a_cookie_copied_before_logout_is_dead_after_it(world, new_browser):
    laptop, phone = new_browser(), new_browser()
    laptop.login("analyst")
    phone.login("analyst")
    stolen = cookie_of(laptop)
    assert laptop.post("/logout").status_code == 303
    assert not signed_in(replay(new_browser, stolen))
    assert not signed_in(phone)


def test_a_password_change_ends_other_sessions_and_every_token(world, app, new_browser):
    here, there = new_browser(), new_browser()
    here.login("analyst")
    there.login("analyst")
    secret = new_token(here)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    new = "an entirely new passphrase"
    changed = here.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert changed.status_code == 303
    assert signed_in(here) and not signed_in(there)
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401


def test_disabling_a_person_ends_their_sessions_and_tokens_at_once(
    world, app, new_browser
):
    person = new_browser()
    person.login("analyst")
    secret = new_token(person)
    admin = new_browser()
    admin.login("admin")
    response = admin.post(f"/admin/users/{world.analyst.id}", {"active": "false"})
    assert response.status_code == 303
    assert not signed_in(person)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    assert person.login("analyst").status_code == 401


def test_a_role_change_ends_the_persons_sessions(world, new_browser):
    person = new_browser()
    person.login("manager2")
    admin = new_browser()
    admin.login("admin")
    assert (
        admin.post(f"/admin/users/{world.manager2.id}", {"role": "analyst"}).status_code
        == 303
    )
    assert not signed_in(person)


BLANK = ["", " ", "   \t", "\n", "\x00", "\x00" + PASSWORD, PASSWORD + "\x00"]


@pytest.mark.parametrize("password", BLANK, ids=repr)
def test_blank_passwords_are_refused_on_every_path(world, app, browser, password):
    form = browser.login("analyst", password)
    assert form.status_code == 401 and not signed_in(browser)
    as_json = browser.client.post(
        "/login",
        json={"username": "analyst", "password": password},
        headers={"X-CSRFToken": browser.csrf_token()},
    )
    assert as_json.status_code in (400, 401) and not signed_in(browser)
    if "\n" not in password:  # (a header cannot carry a line break at all)
        bearer = app.test_client().get(
            "/api/v1/me", headers={"Authorization": f"Bearer {password}"}
        )
        assert bearer.status_code == 401
    browser.login("analyst")
    change = browser.post(
        "/account/password",
        {"current_password": password, "new_password": "x" * 20, "confirm": "x" * 20},
    )
    assert change.status_code == 400


def test_the_account_limit_answers_429_with_retry_after_and_is_audited(world, browser):
    for _ in range(10):
        assert browser.login("analyst", "wrong password!!").status_code == 401
    for _ in range(5):
        limited = browser.login("analyst", "wrong password!!")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.action.like("login.%"))
    ).all()
    assert actions.count("login.failure") == 10
    assert actions.count("login.limited") == 5


def test_the_address_limit_holds_whatever_the_forwarded_for_says(world, app):
    app.config["LOGIN_LIMIT_PER_IP"] = "4 per minute"
    browser = Browser(app.test_client())
    for number in range(4):
        response = browser.client.post(
            "/login",
            data={
                "username": f"guess{number}",
                "password": "wrong password!!",
                "csrf_token": browser.csrf_token(),
            },
            headers={"X-Forwarded-For": f"198.51.100.{number}"},
        )
        assert response.status_code == 401
    assert browser.login("guess9", "wrong password!!").status_code == 429


def test_session_cookies_are_httponly_and_samesite(world, browser):
    browser.login("analyst")
    cookie = browser.client.get_cookie("socdrill_session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_cookies_are_secure_host_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app({"ENV": "production", "SECRET_KEY": "k" * 48})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    with app.test_request_context("/"):
        from flask import session

        session["x"] = 1
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    header = response.headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in header, header
    assert "Domain=" not in header


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"SECRET_KEY": ""},
        {"SECRET_KEY": "dev"},
        {"SECRET_KEY": "changeme"},
        {"SECRET_KEY": "short-but-random-0123"},
        {"SECRET_KEY": "k" * 48, "DEBUG": True},
    ],
    ids=["missing", "empty", "dev", "changeme", "short", "debug"],
)
def test_production_refuses_to_start_with_a_default_secret_or_debug(
    tmp_path, monkeypatch, settings
):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.delenv("SOCDRILL_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"ENV": "production", **settings})


def test_a_fresh_install_has_no_accounts(empty_app):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with empty_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_api_tokens_are_random_prefixed_stored_hashed_and_never_in_urls(
    world, browser, app
):
    browser.login("analyst")
    first, second = new_token(browser, "one"), new_token(browser, "two")
    assert first != second and first.startswith("sdt_")
    assert len(first) - len("sdt_") >= 43  # 256 bits in URL-safe base64
    rows = db.session.scalars(sa.select(ApiToken)).all()
    stored = {row.token_hash for row in rows}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}
    dump = "\n".join(
        str(tuple(row))
        for table in db.metadata.sorted_tables
        for row in db.session.execute(sa.select(table))
    )
    assert first not in dump and second not in dump
    tokens_page = browser.get("/account/tokens").get_data(as_text=True)
    assert first not in tokens_page
    for name in ("api_key", "token", "access_token", "apikey", "API_KEY"):
        response = app.test_client().get(f"/api/v1/me?{name}={first}")
        assert response.status_code == 400, name


def test_a_session_past_its_absolute_lifetime_is_over(world, browser):
    browser.login("hr")
    with browser.client.session_transaction() as session:
        session[LOGIN_AT] = time.time() - 12 * 3600 - 1
    assert not signed_in(browser)


@pytest.mark.parametrize(
    ("username", "idle_minutes", "still_in"),
    [
        ("analyst", 119, True),
        ("analyst", 121, False),
        ("hr", 29, True),
        ("hr", 31, False),
    ],
)
def test_an_idle_session_ends_sooner_for_hr(
    world, browser, username, idle_minutes, still_in
):
    browser.login(username)
    with browser.client.session_transaction() as session:
        session[SEEN_AT] = time.time() - idle_minutes * 60
    assert signed_in(browser) is still_in


def test_using_a_session_keeps_it_alive(world, browser):
    browser.login("hr")
    with browser.client.session_transaction() as session:
        session[SEEN_AT] = time.time() - 25 * 60
    assert signed_in(browser)
    with browser.client.session_transaction() as session:
        assert time.time() - session[SEEN_AT] < 60
