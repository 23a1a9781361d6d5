"""The XSS corpus through every free-text field, rendered in a real browser.

The corpus goes into every text a person can write (incident title, sections,
notes and customer report, article title and body, chat, saved-search and token
names, crisis messages and replies, hints) and every name an admin types (tenant,
team, exercise, display name). Then every page of ``app.url_map`` is opened in
Debian's chromium as an analyst, a manager and an admin: no dialog may open, no
payload may run (``window.__xss`` stays unset), and the browser reports no
Content-Security-Policy violation.
"""

from __future__ import annotations

import pytest

from socdrill import rbac
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import Exercise, Role, Team, Tenant, User
from tests.e2e.conftest import WATCH_PAGE, Watched
from tests.security.conftest import build_security_world, concrete_routes, security_app
from tests.web.conftest import PASSWORD
from tests.web.test_realtime import Server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Each payload, if it ever ran, would set window.__xss or open a dialog.
CORPUS = (
    "<script>window.__xss=1;alert(1)</script>",
    '"><img src=x onerror="window.__xss=2;alert(2)">',
    "'><svg/onload=window.__xss=3>",
    "[link](javascript:window.__xss=4)",
    '<a href="javascript:window.__xss=5">x</a>',
    '<iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
    "{{7*7}}${window.__xss=7}",
    "</textarea></title><script>window.__xss=8</script>",
    "<details open ontoggle=window.__xss=9>",
    "javascript:window.__xss=10",
)
SHORT = '"><img src=x onerror=window.__xss=11>'
TEXT = "\n".join(CORPUS)
SECTIONS = ("context", "facts", "analysis", "conclusion", "remediation", "impact")
INJECTED = "iframe, svg[onload], img[onerror], details[ontoggle]"
HTML_SKIP = ("api.", "api_docs.", "review_api.", "engine.", "static")
EXPORTS = ("export",)


def plant_corpus(app, world) -> None:
    """The corpus in every free-text field of tenant A, through the API mostly."""
    a = world.ids["acme"]
    analyst = world.api(app, Role.ANALYST)
    manager = world.api(app, Role.MANAGER)
    incident = a["incident_id"]
    assert analyst.patch(
        f"/api/v1/incidents/{incident}",
        {
            "title": SHORT,
            **dict.fromkeys(SECTIONS, TEXT),
        },
    ).status_code in (200, 409)
    analyst.post(f"/api/v1/incidents/{incident}/notes", {"text": TEXT})
    analyst.post(
        f"/api/v1/incidents/{incident}/reports",
        {"recipient": "soc@customer.example", "message": TEXT},
    )
    analyst.patch(f"/api/v1/kb/{a['article_id']}", {"title": SHORT, "body": TEXT})
    analyst.post("/api/v1/chat", {"body": TEXT})
    analyst.post("/api/v1/saved-searches", {"name": SHORT, "query": "EventID:4625"})
    analyst.post(f"/api/v1/inbox/{a['delivery_id']}/replies", {"text": TEXT})
    manager.post(
        f"/api/v1/exercises/{a['exercise_id']}/crisis",
        {"channel": "email", "sender": SHORT, "subject": SHORT, "message": TEXT},
    )
    manager.post(f"/api/v1/exercises/{a['exercise_id']}/hints", {"text": TEXT})
    world.browser(app, Role.ANALYST).post("/account/tokens", {"name": SHORT})
    with write_transaction():
        db.session.get(Tenant, a["tenant_id"]).name = SHORT
        db.session.get(Team, a["team_id"]).description = TEXT
        for key in ("exercise_id", "ended_exercise_id"):
            db.session.get(Exercise, a[key]).name = SHORT
        for user in db.session.scalars(db.select(User)):
            user.display_name = SHORT[:60]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    app = security_app(tmp_path_factory.mktemp("xss"), monkeypatch)
    with app.app_context():
        world = build_security_world(app)
        plant_corpus(app, world)
        server = Server(app)
        yield app, world, server
        server.close()
        db.session.remove()
        db.engine.dispose()
    monkeypatch.undo()


def pages_for(app, world, role: Role) -> list[str]:
    return [
        route.url
        for route in concrete_routes(app, world.ids["acme"])
        if route.method == "GET"
        and not route.endpoint.startswith(HTML_SKIP)
        and not route.endpoint.endswith(EXPORTS)
        and rbac.allowed(route.endpoint, role)
    ]


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MANAGER, Role.ADMIN], ids=str)
def test_no_page_runs_the_corpus_or_breaks_the_csp(chromium, planted, role):
    app, world, server = planted
    context = chromium.new_context(base_url=server.url)
    context.add_init_script(WATCH_PAGE)
    context.set_default_timeout(15_000)
    watched = Watched(context.new_page())
    page = watched.page
    try:
        page.goto("/login")
        page.fill("#username", world.usernames[role])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard*")
        visited = 0
        for url in pages_for(app, world, role):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            visited += 1
            assert page.evaluate("window.__xss === undefined"), url
            injected = "(s) => document.querySelectorAll(s).length"
            assert page.evaluate(injected, INJECTED) == 0, url
            watched.assert_clean()
        assert visited >= 10
        # The watch works: a dialog and an inline script are both seen.
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__xss = 99'; document.body.appendChild(s); }"
        )
        page.wait_for_timeout(200)
        assert page.evaluate("window.__xss === undefined")
        assert watched.csp_violations()
    finally:
        context.close()
