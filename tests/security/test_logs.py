"""Planted secrets never reach the logs.

A real server on 127.0.0.1 (so werkzeug's access log is part of what is captured)
runs with a known secret key; a person signs in with a known password, fails with
another, creates and uses an API token, changes the password, and a route crashes
while the request carries the token and the cookie. Every log record of every
logger, at DEBUG, is then searched for each secret. CR/LF typed into a username
never starts a new log line or audit row.
"""

from __future__ import annotations

import logging
import re
import urllib.request

import pytest
import sqlalchemy as sa

from socdrill import rbac
from socdrill.extensions import db
from socdrill.models import AuditEntry, Role
from tests.security.conftest import security_app
from tests.web.conftest import PASSWORD, Browser, make_user
from tests.web.test_realtime import Server

SECRET_KEY = "planted-secret-key-7f3a9c2e5b8d1f4a6c0e"
WRONG_PASSWORD = "planted wrong password 4471"
NEW_PASSWORD = "planted new passphrase 9051"
TOKEN = re.compile(r"sdt_[A-Za-z0-9_\-]{40,}")


@pytest.fixture
def served(tmp_path, monkeypatch):
    app = security_app(tmp_path, monkeypatch, SECRET_KEY=SECRET_KEY)

    @app.get("/crash-with-secrets")
    def crash() -> str:
        raise RuntimeError("boom")

    monkeypatch.setitem(rbac.ALLOW, "crash", rbac.EVERYONE)
    with app.app_context():
        make_user("logger", Role.ANALYST)
        server = Server(app)
        yield app, server
        server.close()
        db.session.remove()
        db.engine.dispose()


def http(server: Server, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(server.url + path, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_no_secret_reaches_any_log(served, caplog):
    app, server = served
    caplog.set_level(logging.DEBUG)
    browser = Browser(app.test_client())
    assert browser.login("logger", WRONG_PASSWORD).status_code == 401
    assert browser.login("logger", PASSWORD).status_code == 302
    page = browser.post("/account/tokens", {"name": "ci"}).get_data(as_text=True)
    token = TOKEN.search(page).group(0)
    cookie = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    bearer = {"Authorization": f"Bearer {token}"}
    assert http(server, "/api/v1/me", bearer) == 200
    assert http(server, "/crash-with-secrets", {**bearer}) == 500
    assert (
        http(server, "/crash-with-secrets", {"Cookie": f"socdrill_session={cookie}"})
        == 500
    )
    changed = browser.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    )
    assert "boom" in logged, "the crash was logged (the capture works)"
    for secret in (PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, token, cookie, SECRET_KEY):
        assert secret not in logged, secret[:8]


def test_line_breaks_in_a_username_cannot_forge_log_lines(served, caplog):
    app, _ = served
    caplog.set_level(logging.DEBUG)
    forged = "nobody\r\n2026-01-01 INFO login.success admin"
    browser = Browser(app.test_client())
    assert browser.login(forged, WRONG_PASSWORD).status_code == 401
    row = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "login.failure")
    ).all()[-1]
    assert "\n" not in row.actor_name and "\r" not in row.actor_name
    for record in caplog.records:
        assert "\nINFO login.success" not in record.getMessage()
