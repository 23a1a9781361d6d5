"""Login, rate limits, session rotation, logout everywhere, password change."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from socdrill.auth.sessions import LOGIN_AT
from socdrill.extensions import db
from socdrill.models import AuditEntry, User
from tests.web.conftest import PASSWORD, Browser


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id))
    )


def signed_in(browser: Browser) -> bool:
    response = browser.get("/dashboard")
    return response.status_code == 200


def test_login_with_the_right_password_opens_the_dashboard(world, browser):
    response = browser.login("analyst")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    assert signed_in(browser)
    assert "login.success" in audit_actions()


def test_a_wrong_password_is_refused_and_audited(world, browser):
    response = browser.login("analyst", "not the password at all")
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data
    assert not signed_in(browser)
    assert audit_actions()[-1] == "login.failure"


def test_an_unknown_user_gets_the_same_answer(world, browser):
    response = browser.login("nobody-here", PASSWORD)
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data


@pytest.mark.parametrize("password", ["", "   ", "\t\n", "\x00", PASSWORD + "\x00"])
def test_blank_or_nul_passwords_are_refused_before_any_lookup(world, browser, password):
    response = browser.login("analyst", password)
    assert response.status_code == 401
    assert not signed_in(browser)
    failure = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "login.failure")
    ).all()[-1]
    assert failure.detail["reason"] == "blank"


def test_a_disabled_account_cannot_sign_in(world, browser):
    user = db.session.get(User, world.analyst.id)
    user.active = False
    db.session.commit()
    assert browser.login("analyst").status_code == 401


def test_the_next_account_failure_after_the_limit_gets_429_with_retry_after(
    world, browser
):
    for _ in range(10):
        assert browser.login("analyst", "wrong password!!").status_code == 401
    response = browser.login("analyst", "wrong password!!")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    # Even the right password waits: the account is locked for the window.
    assert browser.login("analyst").status_code == 429
    # Another account from the same address is still fine.
    assert browser.login("lead").status_code == 302


def test_the_account_limit_holds_across_addresses(world, app):
    client = app.test_client()
    browser = Browser(client)
    for attempt in range(10):
        response = client.post(
            "/login",
            data={
                "username": "analyst",
                "password": "wrong password!!",
                "csrf_token": browser.csrf_token(),
            },
            environ_base={"REMOTE_ADDR": f"192.0.2.{attempt + 1}"},
        )
        assert response.status_code == 401
    response = client.post(
        "/login",
        data={
            "username": "analyst",
            "password": "wrong password!!",
            "csrf_token": browser.csrf_token(),
        },
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 429


def test_one_address_is_limited_across_accounts(world, app):
    app.config["LOGIN_LIMIT_PER_IP"] = "5 per minute"
    browser = Browser(app.test_client())
    for number in range(5):
        assert browser.login(f"someone{number}", "wrong password!!").status_code == 401
    assert browser.login("someone-else", "wrong password!!").status_code == 429


def test_an_untrusted_forwarded_for_header_does_not_reset_the_limit(world, app):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    browser = Browser(app.test_client())
    for number in range(3):
        response = browser.client.post(
            "/login",
            data={
                "username": f"x{number}",
                "password": "wrong password!!",
                "csrf_token": browser.csrf_token(),
            },
            headers={"X-Forwarded-For": f"203.0.113.{number}"},
        )
        assert response.status_code == 401
    assert browser.login("x9", "wrong password!!").status_code == 429


def test_login_starts_a_new_session_so_a_planted_cookie_is_worthless(world, app):
    attacker = app.test_client()
    Browser(attacker).csrf_token()  # the attacker gets a session cookie…
    planted = attacker.get_cookie("socdrill_session").value
    victim = app.test_client()
    victim.set_cookie("socdrill_session", planted)
    assert Browser(victim).login("analyst").status_code == 302
    assert victim.get_cookie("socdrill_session").value != planted
    # …and the cookie they planted is still anonymous.
    assert attacker.get("/dashboard").status_code == 302


def test_the_csrf_token_changes_at_login(world, browser):
    before = browser.csrf_token()
    browser.login("analyst")
    assert browser.csrf_token() != before


def test_logout_ends_every_session_of_the_person(world, new_browser):
    laptop, phone = new_browser(), new_browser()
    laptop.login("analyst")
    phone.login("analyst")
    stolen = laptop.client.get_cookie("socdrill_session").value
    assert laptop.post("/logout").status_code == 303
    assert not signed_in(laptop)
    assert not signed_in(phone)
    replay = new_browser()
    replay.client.set_cookie("socdrill_session", stolen)
    assert not signed_in(replay)
    assert "logout" in audit_actions()


def test_logout_needs_post_and_a_csrf_token(world, browser):
    browser.login("analyst")
    assert browser.get("/logout").status_code == 405
    assert browser.client.post("/logout").status_code == 403
    assert signed_in(browser)


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(
    world, new_browser
):
    here, elsewhere = new_browser(), new_browser()
    here.login("analyst")
    elsewhere.login("analyst")
    new_password = "a brand new passphrase"
    response = here.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm": new_password,
        },
    )
    assert response.status_code == 303
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert elsewhere.login("analyst", new_password).status_code == 302
    assert "password.change" in audit_actions()


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        (
            "wrong current pw",
            "a brand new passphrase",
            "a brand new passphrase",
            b"current password is wrong",
        ),
        (PASSWORD, "short", "short", b"at least 12"),
        (PASSWORD, "            ", "            ", b"empty"),
        (PASSWORD, "password1234", "password1234", b"too easy"),
        (PASSWORD, "a brand new passphrase", "another passphrase", b"differ"),
    ],
)
def test_bad_password_changes_are_refused_and_change_nothing(
    world, browser, current, new, confirm, message
):
    browser.login("analyst")
    before = db.session.get(User, world.analyst.id).password_hash
    response = browser.post(
        "/account/password",
        {"current_password": current, "new_password": new, "confirm": confirm},
    )
    assert response.status_code == 400
    assert message in response.data
    db.session.expire_all()
    assert db.session.get(User, world.analyst.id).password_hash == before


def test_a_session_older_than_the_absolute_lifetime_is_over(world, browser):
    browser.login("analyst")
    with browser.client.session_transaction() as session:
        session[LOGIN_AT] = time.time() - 13 * 3600
    assert not signed_in(browser)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",
        "https:evil.example",
        "https://evil.example",
        "/%2F%2Fevil",
        "\\/\\/evil.example",
        "javascript:alert(1)",
        "/\tevil",
    ],
)
def test_login_never_redirects_off_site(world, browser, target):
    response = browser.client.post(
        "/login",
        query_string={"next": target},
        data={
            "username": "analyst",
            "password": PASSWORD,
            "csrf_token": browser.csrf_token(),
        },
    )
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil" not in location or location.startswith("/%2F")


def test_login_returns_to_the_page_that_asked(world, browser):
    response = browser.get("/exercises")
    assert response.status_code == 302
    assert "/login?next=/exercises" in response.headers["Location"]
    response = browser.client.post(
        "/login?next=/exercises",
        data={
            "username": "manager",
            "password": PASSWORD,
            "csrf_token": browser.csrf_token(),
        },
    )
    assert response.headers["Location"] == "/exercises"


def test_passwords_are_hashed_with_scrypt_by_default(tmp_path, monkeypatch):
    from socdrill import create_app
    from socdrill.auth.passwords import hash_password, verify_password

    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app({"TESTING": True})
    with app.app_context():
        hashed = hash_password(PASSWORD)
        assert hashed.startswith("scrypt:")
        assert verify_password(hashed, PASSWORD)
        assert not verify_password(hashed, PASSWORD + "x")
