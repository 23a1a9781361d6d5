"""Output: the markdown sanitiser against an XSS corpus, security headers on every
route for every principal (errors included), the open-redirect corpus on ``next=``,
and error pages that show no trace, path, host or SQL."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy.exc import OperationalError

from socdrill import create_app, markdown, rbac
from socdrill.models import Role
from socdrill.responses import is_safe_next
from tests.security.conftest import ANONYMOUS, MUTATING, concrete_routes, send
from tests.web.conftest import PASSWORD

# Payloads from the usual filter-evasion lists, as people type them into tickets.
XSS_CORPUS = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//xss.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<data:text/html,alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<form action="https://evil.example"><input name=p></form>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<!--<img src=x onerror=alert(1)>-->",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "`<img src=x onerror=alert(1)>`",
    "```\n<script>alert(1)</script>\n```",
    "<a href=https://example.org/ onclick=alert(1)>ok</a>",
    '<a href="https://example.org/" onmouseover="alert(1)">ok</a>',
    "<table><tr><td onclick=alert(1)>x</td></tr></table>",
    "<x onclick=alert(1)>custom</x>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<select><option><style></option></select><img src=x onerror=alert(1)>",
)
ALLOWED_SCHEMES = ("http:", "https:", "mailto:")


class Elements(HTMLParser):
    """The real elements and attributes of an HTML fragment (escaped text is text)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_the_markdown_sanitiser_strips_scripts_handlers_and_bad_links(payload):
    html = str(markdown.render(payload))
    for tag, attributes in Elements(html).found:
        assert tag in markdown.ALLOWED_TAGS, (tag, html)
        for name, value in attributes.items():
            assert not name.startswith("on") and name != "style", (name, html)
            if name in ("href", "src"):
                target = re.sub(r"[\x00-\x20]", "", value).lower()
                assert ":" not in target.split("/")[0] or target.startswith(
                    ALLOWED_SCHEMES
                ), (value, html)


def test_safe_links_survive_with_noopener():
    html = str(markdown.render("[ok](https://example.org/) [m](mailto:a@example.org)"))
    assert 'href="https://example.org/"' in html
    assert 'href="mailto:a@example.org"' in html
    assert "noopener" in html and "noreferrer" in html


NONCE = re.compile(r"'nonce-([A-Za-z0-9_\-]{16,})'")


def check_headers(response, where) -> None:
    url = getattr(where, "url", where)
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert NONCE.search(policy), where
    for banned in ("unsafe-inline", "unsafe-eval", "*"):
        assert banned not in policy.replace("'self'", ""), (where, banned)
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in policy, (where, directive)
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    assert headers.get("X-Frame-Options") == "DENY", where
    if not url.startswith("/static/"):
        assert headers.get("Cache-Control") == "no-store", where


@pytest.mark.parametrize("principal", [ANONYMOUS, Role.ANALYST, Role.ADMIN], ids=str)
def test_every_route_answers_with_the_security_headers(seeded, principal):
    app, world = seeded
    browser = world.browser(app, principal)
    for route in concrete_routes(app, world.ids["acme"]):
        if route.endpoint == "auth.logout":
            continue
        check_headers(send(browser, route, csrf=False), route)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/no/such/page"),
        ("GET", "/api/v1/no-such-thing"),
        ("DELETE", "/dashboard"),
        ("GET", "/exercises/987654"),
        ("GET", "/api/v1/incidents/987654"),
        ("GET", "/api/v1/me?token=x"),
    ],
)
def test_error_answers_carry_the_headers_and_no_detail(seeded, method, url):
    app, world = seeded
    response = world.browser(app, Role.ANALYST).client.open(url, method=method)
    assert response.status_code >= 400
    check_headers(response, url)
    assert_generic(response.get_data(as_text=True))


def test_production_sends_hsts(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app({"ENV": "production", "SECRET_KEY": "k" * 48})
    response = app.test_client().get("/login")
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
    assert "includeSubDomains" in hsts


REDIRECTS = (
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example",
    "http://evil.example@localhost/",
    "//localhost@evil.example",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/\tevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\x00//evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/..//evil.example",
    "/.//evil.example",
    "/。/evil.example",
    "//evil%E3%80%82example",
    "https://localhost.evil.example/",
    "/ /evil.example",
)


@pytest.mark.parametrize("target", REDIRECTS, ids=repr)
def test_login_never_sends_anyone_off_site(tmp_path, monkeypatch, target):
    from tests.security.conftest import security_app
    from tests.web.conftest import Browser, make_user

    app = security_app(tmp_path, monkeypatch)
    with app.app_context():
        make_user("victim", Role.ANALYST)
        browser = Browser(app.test_client())
        response = browser.client.post(
            "/login",
            query_string={"next": target},
            data={
                "username": "victim",
                "password": PASSWORD,
                "csrf_token": browser.csrf_token(),
            },
        )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert not re.search(r"[\x00-\x20\\]", location), location
    # Where a browser on our page would really go: still our own host.
    assert urlsplit(urljoin("https://socdrill.test/login", location)).netloc == (
        "socdrill.test"
    ), location


@pytest.mark.parametrize("target", REDIRECTS, ids=repr)
def test_the_next_check_accepts_only_targets_that_stay_on_site(target):
    if is_safe_next(target):
        resolved = urljoin("https://socdrill.test/login", target)
        assert urlsplit(resolved).netloc == "socdrill.test", resolved


TRACE_WORDS = re.compile(
    r"Traceback|File \"|/srv/|/home/|/usr/lib|site-packages|\.py\b|"
    r"sqlalchemy|sqlite3|SELECT |INSERT |OperationalError|Werkzeug Debugger|"
    r"socket\.gethostname|internal detail",
    re.I,
)


def assert_generic(body: str) -> None:
    assert not TRACE_WORDS.search(body), TRACE_WORDS.search(body).group(0)


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_crash_answers_a_generic_500(tmp_path, monkeypatch, accept):
    from tests.security.conftest import security_app

    app = security_app(tmp_path, monkeypatch)

    @app.get("/boom/python")
    def boom_python() -> str:
        raise RuntimeError("internal detail at /srv/socdrill/secret.py line 7")

    @app.get("/boom/sql")
    def boom_sql() -> str:
        raise OperationalError(
            "SELECT password_hash FROM users WHERE id = 1", {}, Exception("locked")
        )

    monkeypatch.setitem(rbac.ALLOW, "boom_python", rbac.PUBLIC)
    monkeypatch.setitem(rbac.ALLOW, "boom_sql", rbac.PUBLIC)
    for url in ("/boom/python", "/boom/sql"):
        response = app.test_client().get(url, headers={"Accept": accept})
        assert response.status_code == 500
        assert_generic(response.get_data(as_text=True))
        check_headers(response, url)


MALFORMED_BODIES = (
    {"data": b"\xff\xfe{[", "content_type": "application/json"},
    {"json": [1, 2, 3]},
    {"json": "just a string"},
    {"json": {"username": 5, "password": ["a", "b"], "name": {"x": 1}}},
    {"json": {"x": "\x00" * 10}},
)


def test_no_route_answers_with_a_trace_for_malformed_input(seeded):
    """Every route with nonsense in its body and query: no 500, no trace."""
    app, world = seeded
    browser = world.browser(app, Role.ADMIN)
    token = browser.csrf_token()
    for route in concrete_routes(app, world.ids["acme"]):
        if route.method not in MUTATING or route.endpoint == "auth.logout":
            continue
        for body in (
            {"data": b"\xff\xfe{[", "content_type": "application/json"},
            {"json": [1, 2, 3]},
            {"json": {"x": "\x00" * 10}},
        ):
            response = browser.client.open(
                route.url + "?q=%00&limit=-1",
                method=route.method,
                headers={"X-CSRFToken": token, "Accept": "application/json"},
                **body,
            )
            assert response.status_code < 500, (route, body, response.status_code)
            assert_generic(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/events/-1"),
        ("GET", "/api/v1/nothing"),
        ("GET", "/api/v1/alerts/ack"),
    ],
)
def test_an_api_address_without_a_route_answers_the_api_error_body(seeded, method, url):
    app, world = seeded
    response = world.browser(app, Role.ANALYST).client.open(url, method=method)
    assert response.status_code in (404, 405)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}, error
