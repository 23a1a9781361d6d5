"""The adversarial suite's world: two tenants, two teams in one of them, every role,
and one of each object (alert, event, incident, report, article, chat message, saved
search, crisis message, API token) on each side, created through the real API.

Tenant A (``acme``) holds the people under test; tenant B (``globex``) is somebody
else's. Every free text written on side B carries :data:`FOREIGN_MARK`, so a test can
prove that no answer to an A user contains B data. The world is built once per test
module (it takes seconds); tests that change accounts or sessions build their own app.

Routes are walked generically from ``app.url_map``: :func:`concrete_routes` fills each
``<int:...>`` converter with the id of the right object of one side, and fails loudly
for a converter nobody taught it, so a new route cannot slip past the suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pprint import pformat
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request

from socdrill.database import write_transaction
from socdrill.exercise import lifecycle
from socdrill.exercise.planning import create_draft, read_scenario_file
from socdrill.extensions import db
from socdrill.models import ApiToken, Job, Membership, Role, User, utcnow
from tests.web import conftest as web_fixtures
from tests.web.conftest import PASSWORD, Browser, _make_app, make_team, make_user
from tests.web.test_console_support import (
    RANSOMWARE,
    SEED,
    Api,
    ConsoleWorld,
    build_world,
)

# Function-scoped fixtures of the web tests, for tests that build their own world.
app = web_fixtures.app
browser = web_fixtures.browser
ctx = web_fixtures.ctx
database_settings = web_fixtures.database_settings
empty_app = web_fixtures.empty_app
new_browser = web_fixtures.new_browser
world = web_fixtures.world

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANONYMOUS = "anonymous"
PRINCIPALS: tuple[Role | str, ...] = (ANONYMOUS, *Role)
OWN_MARK = "ACME-ONLY"
FOREIGN_MARK = "GLOBEX-ONLY"
# Limits high enough for hundreds of sign-ins from one test address.
GENEROUS_LIMITS = {
    "LOGIN_LIMIT_PER_IP": "100000 per minute",
    "LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute",
}
# Endpoints whose ``exercise_id`` is a finished drill (review needs ENDEX first).
ENDED_EXERCISE_PREFIXES = ("review.", "review_api.")
# Every name a ``<...>`` converter of the app uses, and the object it names.
ID_NAMES = frozenset(
    {
        "exercise_id",
        "user_id",
        "team_id",
        "tenant_id",
        "membership_id",
        "token_id",
        "alert_id",
        "event_id",
        "delivery_id",
        "incident_id",
        "report_id",
        "article_id",
        "saved_search_id",
        "filename",
    }
)
MISSING_ID = 987_654


@dataclass(frozen=True)
class Route:
    """One concrete request: endpoint, method and URL with real ids filled in."""

    endpoint: str
    method: str
    url: str
    arguments: tuple[str, ...]


@dataclass
class SecurityWorld:
    """The two sides, who plays which role in tenant A, and each side's ids."""

    console: ConsoleWorld
    usernames: dict[Role, str]
    team2_analyst: str
    team2_lead: str
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, Browser] = field(default_factory=dict)

    def browser(self, app: Flask, principal: Role | str) -> Browser:
        """A signed-in browser for a role of tenant A (or for a username), cached."""
        username = self.usernames.get(principal, principal)  # type: ignore[call-overload]
        if username not in self.clients:
            browser = Browser(app.test_client())
            if username != ANONYMOUS:
                response = browser.login(username)
                assert response.status_code == 302, (username, response.status_code)
            self.clients[username] = browser
        return self.clients[username]

    def api(self, app: Flask, principal: Role | str) -> Api:
        return Api(self.browser(app, principal))


def _ended_exercise(side: Any) -> int:
    """A second drill of the side's team, played two hours ago and ended (the
    review pages need a finished drill)."""
    from socdrill.models import Team, Tenant

    begin = utcnow() - timedelta(hours=2)
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(side.manager),
            name=f"Finished drill {side.slug}",
            tenant=db.session.get(Tenant, side.tenant_id),
            team=db.session.get(Team, side.team_id),
            scenario=read_scenario_file(RANSOMWARE, 512 * 1024),
            seed=SEED,
            speed_factor=1.0,
        )
    lifecycle.schedule(exercise.id, side.manager, begin)
    lifecycle.start(exercise.id, side.manager, begin)
    lifecycle.endex(exercise.id, side.manager, begin + timedelta(minutes=30), "done")
    return exercise.id


def _created(response: Any, key: str) -> int:
    assert response.status_code in (200, 201), response.get_json()
    return int(response.get_json()["data"][key])


def _seed_side(app: Flask, world: SecurityWorld, side: Any, mark: str) -> None:
    """One of each object on ``side``, written through the API by its people."""
    analyst = Api(_signed_in(app, side.analyst.username))
    manager = Api(_signed_in(app, side.manager.username))
    ids: dict[str, Any] = world.ids.setdefault(side.slug, {})
    ids["alert_id"] = world.console.alert_ids["a" if side is world.console.a else "b"][
        0
    ]
    ids["event_id"] = analyst.get("/api/v1/search", q="*").get_json()["events"][0]["id"]
    incident = _created(
        analyst.post(
            "/api/v1/incidents",
            {
                "title": f"{mark} incident",
                "tenant": side.slug,
                "alert_ids": [ids["alert_id"]],
                "context": f"{mark} context",
            },
        ),
        "incident_id",
    )
    ids["incident_id"] = incident
    analyst.post(f"/api/v1/incidents/{incident}/notes", {"text": f"{mark} note"})
    analyst.patch(
        f"/api/v1/incidents/{incident}",
        {"conclusion": f"{mark} conclusion", "facts": f"{mark} facts"},
    )
    report = analyst.post(
        f"/api/v1/incidents/{incident}/reports",
        {"recipient": "soc@customer.example", "message": f"{mark} report"},
    )
    assert report.status_code == 201, report.get_json()
    ids["report_id"] = analyst.get(f"/api/v1/incidents/{incident}").get_json()[
        "reports"
    ][0]["id"]
    ids["article_id"] = _created(
        analyst.post(
            "/api/v1/kb",
            {"title": f"{mark} playbook", "body": f"{mark} body", "scope": "identity"},
        ),
        "article_id",
    )
    assert analyst.post("/api/v1/chat", {"body": f"{mark} chat"}).status_code == 201
    saved = analyst.post(
        "/api/v1/saved-searches", {"name": f"{mark} search", "query": "EventID:4625"}
    )
    assert saved.status_code == 201, saved.get_json()
    ids["saved_search_id"] = analyst.get("/api/v1/saved-searches").get_json()[
        "saved_searches"
    ][0]["id"]
    crisis = manager.post(
        f"/api/v1/exercises/{side.exercise_id}/crisis",
        {
            "channel": "media",
            "sender": f"{mark} reporter",
            "subject": f"{mark} question",
            "message": f"{mark} message",
            "reply_within_minutes": 30,
        },
    )
    assert crisis.status_code == 201, crisis.get_json()
    ids["delivery_id"] = analyst.get("/api/v1/inbox").get_json()["messages"][0]["id"]
    tokens = _signed_in(app, side.analyst.username)
    assert tokens.post("/account/tokens", {"name": f"{mark} token"}).status_code == 200
    ids["token_id"] = db.session.scalar(
        sa.select(ApiToken.id).where(ApiToken.user_id == side.analyst.id)
    )
    ids["exercise_id"] = side.exercise_id
    ids["ended_exercise_id"] = _ended_exercise(side)
    ids["user_id"] = side.analyst.id
    ids["team_id"] = side.team_id
    ids["tenant_id"] = side.tenant_id
    ids["membership_id"] = db.session.scalar(
        sa.select(Membership.id).where(Membership.user_id == side.analyst.id)
    )
    ids["filename"] = "css/socdrill.css"


def _signed_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    response = browser.login(username, PASSWORD)
    assert response.status_code == 302, (username, response.status_code)
    return browser


def build_security_world(app: Flask) -> SecurityWorld:
    """Both tenants with running and ended drills, every role, every object."""
    console = build_world(app)
    team_a = _team(console.a.team_id)
    tenant_a = _tenant(console.a.tenant_id)
    admin = make_user("sec-admin", Role.ADMIN, can_launch=True)
    hr = make_user("acme-hr", Role.HR, team=team_a)
    observer = make_user("acme-observer", Role.OBSERVER, team=team_a)
    team2 = make_team("Team acme-2", tenant_a)
    make_user("acme2-analyst", Role.ANALYST, team=team2, job=Job.L1_MONITORING)
    make_user("acme2-lead", Role.LEAD, team=team2, job=Job.LEAD)
    usernames = {
        Role.ADMIN: admin.username,
        Role.MANAGER: console.a.manager.username,
        Role.LEAD: console.a.lead.username,
        Role.ANALYST: console.a.analyst.username,
        Role.HR: hr.username,
        Role.OBSERVER: observer.username,
    }
    world = SecurityWorld(console, usernames, "acme2-analyst", "acme2-lead")
    _seed_side(app, world, console.a, OWN_MARK)
    _seed_side(app, world, console.b, FOREIGN_MARK)
    world.ids["acme"]["team2_id"] = team2.id
    return world


def _tenant(tenant_id: int) -> Any:
    from socdrill.models import Tenant

    return db.session.get(Tenant, tenant_id)


def _team(team_id: int) -> Any:
    from socdrill.models import Team

    return db.session.get(Team, team_id)


def security_app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Flask:
    """An app with its schema and login limits out of the way (many sign-ins)."""
    app = _make_app(
        tmp_path, monkeypatch, ENGINE_NOISE_SCALE=0.0, **{**GENEROUS_LIMITS, **extra}
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Iterator[tuple[Flask, SecurityWorld]]:
    """The app and its world, shared by the tests of one module (read-mostly)."""
    monkeypatch = pytest.MonkeyPatch()
    app = security_app(tmp_path_factory.mktemp("security"), monkeypatch)
    with app.app_context():
        world = build_security_world(app)
        db.session.commit()
        yield app, world
        db.session.remove()
        db.engine.dispose()
    monkeypatch.undo()


def exercise_for(endpoint: str, ids: dict[str, Any]) -> int:
    if endpoint.startswith(ENDED_EXERCISE_PREFIXES):
        return int(ids["ended_exercise_id"])
    return int(ids["exercise_id"])


def concrete_routes(app: Flask, ids: dict[str, Any]) -> list[Route]:
    """One request per (rule, method) of ``app.url_map`` with ``ids`` filled in."""
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        unknown = set(rule.arguments) - ID_NAMES
        assert not unknown, (
            f"{rule.rule}: teach tests/security/conftest.py which object "
            f"{sorted(unknown)} names, so the suite can probe it"
        )
        values = {
            name: exercise_for(rule.endpoint, ids)
            if name == "exercise_id"
            else ids[name]
            for name in rule.arguments
        }
        url = adapter.build(rule.endpoint, values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(rule.endpoint, method, url, tuple(rule.arguments)))
    return routes


def send(browser: Browser, route: Route, *, csrf: bool = True, **kwargs: Any) -> Any:
    """Send one request as a browser's page script would (JSON + CSRF header)."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if route.method in MUTATING and csrf:
        headers["X-CSRFToken"] = browser.csrf_token()
    if route.method in MUTATING and "data" not in kwargs and "json" not in kwargs:
        kwargs["json"] = {}
    response = browser.client.open(
        route.url, method=route.method, headers=headers, **kwargs
    )
    response.get_data()
    response.close()
    return response


class GuardPassed:
    """Records each request that got past the guard (CSRF and the allow-table):
    a ``before_request`` hook registered after the guard runs only then."""

    def __init__(self, app: Flask) -> None:
        self.endpoints: list[str | None] = []
        app.before_request_funcs.setdefault(None, []).append(self._record)

    def _record(self) -> None:
        self.endpoints.append(request.endpoint)

    def reached(self, action: Any) -> bool:
        """Did ``action()`` (one request) get past the guard?"""
        before = len(self.endpoints)
        action()
        return len(self.endpoints) > before


@pytest.fixture(scope="module")
def guard_passed(seeded) -> GuardPassed:
    return GuardPassed(seeded[0])


def all_rows() -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table of the app database (stronger than counting)."""
    db.session.expire_all()
    dump = {}
    for name, table in db.metadata.tables.items():
        rows = db.session.execute(sa.select(table)).all()
        dump[name] = sorted(tuple(map(str, row)) for row in rows)
    db.session.commit()
    return dump


WORD = re.compile(r"[A-Za-z_]+")


def user_named(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None, username
    return user


def changes(
    before: dict[str, list[tuple[str, ...]]], after: dict[str, list[tuple[str, ...]]]
) -> dict[str, dict[str, list[tuple[str, ...]]]]:
    """Rows added and removed per table between two :func:`all_rows` dumps."""
    diff = {}
    for name in before.keys() | after.keys():
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            diff[name] = {"added": sorted(new - old), "removed": sorted(old - new)}
    return diff


def assert_unchanged(before: dict[str, list[tuple[str, ...]]], note: str = "") -> None:
    """Fail with the rows that changed since ``before``, if any did."""
    diff = changes(before, all_rows())
    assert not diff, f"{note}\n{pformat(diff, width=120)}"
