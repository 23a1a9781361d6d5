"""Fixtures for the web app: a fresh database per test, factories and a signed-in
client helper that sends the CSRF token like the browser forms do.

``SOCDRILL_TEST_DATABASE=postgresql`` runs the same tests on a real PostgreSQL (started
by ``tests/services.py``): each test gets its own database, copied from a template
that holds the schema. The default is ``sqlite``: a file in the test's folder.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from socdrill import accounts, create_app
from socdrill.database import write_transaction
from socdrill.exercise.planning import ScenarioSnapshot, create_draft
from socdrill.extensions import db
from socdrill.models import Exercise, Job, Role, Team, Tenant, User
from tests.services import postgres_server  # noqa: F401  (PostgreSQL runs)

# Fast hashing keeps the suite quick; one test checks the production default.
FAST_HASH = "pbkdf2:sha256:1000"
PASSWORD = "correct horse battery staple"
SCENARIO = ScenarioSnapshot(
    "unit-test-scenario", "id: unit-test-scenario\ntitle: test\n", "0" * 64
)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


BACKENDS = ("sqlite", "postgresql")
TEST_DATABASE = os.environ.get("SOCDRILL_TEST_DATABASE", "sqlite").strip().lower()
if TEST_DATABASE not in BACKENDS:
    raise pytest.UsageError(
        f"SOCDRILL_TEST_DATABASE={TEST_DATABASE!r}: "
        f"expected one of {', '.join(BACKENDS)}"
    )


# Tests of SQLite itself (pragmas, BEGIN IMMEDIATE, sqlite_master): a PostgreSQL run
# leaves them out; tests/integration/test_postgres_app.py checks the same on PostgreSQL.
SQLITE_ONLY_TESTS = {
    "test_database.py": {
        "test_every_connection_gets_wal_foreign_keys_and_a_busy_timeout",
        "test_write_transaction_takes_the_write_lock_at_begin",
        "test_reads_do_not_take_the_write_lock",
        "test_migrations_build_exactly_the_models_schema",
    }
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    if TEST_DATABASE == "sqlite":
        return
    kept, left_out = [], []
    for item in items:
        sqlite_only = SQLITE_ONLY_TESTS.get(item.path.name, set())
        is_web = item.path.parent.name == "web"
        (left_out if is_web and item.originalname in sqlite_only else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def _make_app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Flask:
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "PASSWORD_HASH_METHOD": FAST_HASH,
            **extra,
        }
    )


@pytest.fixture(scope="session")
def postgres_schema_template(request) -> Iterator[str]:
    """A PostgreSQL database holding every table, copied for each test (quicker
    than creating the tables each time)."""
    server = request.getfixturevalue("postgres_server")
    name = f"schema_{secrets.token_hex(6)}"
    engine = sa.create_engine(server.create_database(name))
    try:
        db.metadata.create_all(engine)
    finally:
        engine.dispose()
    yield name
    server.drop_database(name)


@pytest.fixture
def database_settings(request) -> Iterator[dict[str, Any]]:
    """Settings that point the app at a fresh database of the backend under test:
    empty when the test asks for ``empty_app``, with every table otherwise."""
    if TEST_DATABASE == "sqlite":
        yield {}
        return
    server = request.getfixturevalue("postgres_server")
    template = None
    if "empty_app" not in request.fixturenames:
        template = request.getfixturevalue("postgres_schema_template")
    name = f"test_{secrets.token_hex(6)}"
    yield {"DATABASE_URL": server.create_database(name, template=template)}
    server.drop_database(name)


@pytest.fixture
def empty_app(tmp_path, monkeypatch, database_settings) -> Iterator[Flask]:
    """An app whose database has no schema yet (for `socdrill init`)."""
    app = _make_app(tmp_path, monkeypatch, **database_settings)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(tmp_path, monkeypatch, database_settings) -> Iterator[Flask]:
    """An app with every table created (a temporary SQLite file by default)."""
    app = _make_app(tmp_path, monkeypatch, **database_settings)
    if TEST_DATABASE == "sqlite":
        with app.app_context():
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app) -> Iterator[Flask]:
    """An application context for tests that call the domain code directly."""
    with app.app_context():
        yield app
        db.session.remove()


def make_user(
    username: str,
    role: Role = Role.ANALYST,
    *,
    team: Team | None = None,
    job: Job | None = None,
    can_launch: bool = False,
) -> User:
    with write_transaction():
        user, _ = accounts.create_user(
            username, role, actor=None, password=PASSWORD, can_launch=can_launch
        )
        if team is not None:
            accounts.join_team(user, db.session.merge(team), actor=None, job=job)
    return user


def make_team(name: str, *tenants: Tenant) -> Team:
    with write_transaction():
        team = accounts.create_team(name, actor=None)
        for tenant in tenants:
            accounts.assign_tenant(
                team, db.session.merge(tenant), actor=None, assigned=True
            )
    return team


def make_tenant(slug: str) -> Tenant:
    with write_transaction():
        tenant = accounts.create_tenant(slug, f"Tenant {slug}", actor=None)
    return tenant


def make_exercise(
    tenant: Tenant, team: Team, creator: User | None, **options: Any
) -> Exercise:
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(creator) if creator else None,
            name=options.pop("name", "Drill"),
            tenant=db.session.merge(tenant),
            team=db.session.merge(team),
            scenario=SCENARIO,
            **options,
        )
    return exercise


class World:
    """Two tenants with a team each, and one account per role in tenant A."""

    def __init__(self) -> None:
        self.tenant_a = make_tenant("tenant-a")
        self.tenant_b = make_tenant("tenant-b")
        self.team_a = make_team("Team A", self.tenant_a)
        self.team_b = make_team("Team B", self.tenant_b)
        self.admin = make_user("admin", Role.ADMIN, can_launch=True)
        self.manager = make_user(
            "manager", Role.MANAGER, team=self.team_a, can_launch=True
        )
        self.manager2 = make_user("manager2", Role.MANAGER, team=self.team_a)
        self.lead = make_user("lead", Role.LEAD, team=self.team_a, job=Job.LEAD)
        self.analyst = make_user(
            "analyst", Role.ANALYST, team=self.team_a, job=Job.L1_MONITORING
        )
        self.hr = make_user("hr", Role.HR, team=self.team_a)
        self.observer = make_user("observer", Role.OBSERVER, team=self.team_a)
        self.manager_b = make_user(
            "manager-b", Role.MANAGER, team=self.team_b, can_launch=True
        )
        self.analyst_b = make_user("analyst-b", Role.ANALYST, team=self.team_b)
        self.exercise_a = make_exercise(self.tenant_a, self.team_a, self.manager)
        self.exercise_b = make_exercise(self.tenant_b, self.team_b, self.manager_b)

    def by_role(self) -> dict[Role, User]:
        return {
            Role.ADMIN: self.admin,
            Role.MANAGER: self.manager,
            Role.LEAD: self.lead,
            Role.ANALYST: self.analyst,
            Role.HR: self.hr,
            Role.OBSERVER: self.observer,
        }


@pytest.fixture
def world(ctx) -> World:
    with write_transaction():  # one commit for the whole world: quicker
        return World()


class Browser:
    """A test client that signs in through the login form and sends CSRF tokens."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf_token(self) -> str:
        page = self.client.get("/").get_data(as_text=True)
        match = CSRF_META.search(page)
        assert match, "the layout carries the CSRF token"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        return self.client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": self.csrf_token(),
            },
        )

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(
            url, data={**(data or {}), "csrf_token": self.csrf_token()}, **kwargs
        )

    def post_json(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            url, json=body or {}, headers={"X-CSRFToken": self.csrf_token()}
        )

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def new_browser(app):
    """Several independent browsers (for logout-everywhere and the like)."""
    return lambda: Browser(app.test_client())


def row_counts() -> dict[str, int]:
    """Rows per table: a cheap snapshot to prove a request changed nothing."""
    return {
        name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        for name, table in db.metadata.tables.items()
    }
