"""Security headers on every response, error pages without traces, templates
without inline script or unescaped user data."""

from __future__ import annotations

import re

from socdrill import create_app
from tests.conftest import ROOT
from tests.web.conftest import Browser
from tests.web.routes import all_routes, fetch

NONCE = re.compile(r"'nonce-([A-Za-z0-9_\-]+)'")


def check_headers(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert NONCE.search(policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_route_answers_with_the_security_headers(world, app):
    anonymous = Browser(app.test_client())
    admin = Browser(app.test_client())
    admin.login("admin")
    for route in all_routes(app, world):
        for browser in (anonymous, admin):
            check_headers(fetch(browser.client, route))


def test_error_pages_carry_the_headers_too(world, client):
    for url in ("/no-such-page", "/exercises/999999"):
        check_headers(client.get(url))


def test_each_response_has_its_own_nonce(client):
    first = NONCE.search(client.get("/").headers["Content-Security-Policy"]).group(1)
    second = NONCE.search(client.get("/").headers["Content-Security-Policy"]).group(1)
    assert first != second and len(first) >= 16


def test_pages_are_not_cached_but_static_files_may_be(world, client):
    assert client.get("/").headers["Cache-Control"] == "no-store"
    response = client.get("/static/css/socdrill.css")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def test_a_crash_shows_a_generic_page_without_a_trace(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40})

    @app.get("/crash")
    def crash() -> str:
        raise RuntimeError("secret internals at /srv/app/db.py line 42")

    from socdrill import rbac

    monkeypatch.setitem(rbac.ALLOW, "crash", rbac.PUBLIC)
    response = app.test_client().get("/crash")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "secret internals" not in body
    assert "/srv/app" not in body
    check_headers(response)
    json = app.test_client().get("/crash", headers={"Accept": "application/json"})
    assert json.get_json() == {
        "ok": False,
        "error": "Something went wrong on our side. The error has been logged.",
    }


def test_templates_have_no_inline_script_style_or_safe_filter():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "|safe" not in text.replace(" ", ""), path
        assert " style=" not in text and "<style" not in text, path
        assert "<script" not in text or "nonce=" in text, path
        assert re.search(r"\son[a-z]+=", text) is None, path


def test_user_text_is_escaped(world, browser):
    from socdrill.extensions import db
    from socdrill.models import Tenant

    tenant = db.session.get(Tenant, world.tenant_a.id)
    tenant.name = '<script>alert("x")</script>'
    db.session.commit()
    browser.login("admin")
    page = browser.get("/admin/tenants").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page
