"""Shared set-up for the console and API tests: two tenants with a running drill of
a real library scenario each, SIEM events stored and alerts raised by the real
detector, and signed-in browsers. Collected by pytest like every ``test_*`` module,
it holds no tests itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from siem.detector import Detector
from siem.sigma import load_rule
from simulator.events import Event
from socdrill.console import siem_access
from socdrill.database import write_transaction
from socdrill.engine.runtime import tenant_organisation
from socdrill.exercise import lifecycle
from socdrill.exercise.planning import create_draft, read_scenario_file
from socdrill.extensions import db
from socdrill.models import Activity, Exercise, Job, Role, Tenant, utcnow
from tests.conftest import ROOT
from tests.web.conftest import Browser, make_team, make_tenant, make_user

RANSOMWARE = ROOT / "scenarios" / "ransomware-finance.yml"
SEED = 20240601
# A plain Sigma rule, so tests raise alerts through the real detector.
FAILED_LOGON_RULE = """
title: Failed logon in the test tenant
id: 3f0d7a52-2f5e-4c0e-9a51-6a1c4d1f0001
status: test
level: high
tags: [attack.credential-access, attack.t1110]
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4625}
  condition: selection
"""
_uids = itertools.count(1)


@dataclass
class Side:
    """One tenant, its team and its running drill."""

    slug: str
    tenant_id: int
    team_id: int
    exercise_id: int
    manager: Any
    lead: Any
    analyst: Any
    analyst2: Any
    hosts: list[str] = field(default_factory=list)


@dataclass
class ConsoleWorld:
    """Tenant A (the players under test) and tenant B (somebody else's)."""

    a: Side
    b: Side
    alert_ids: dict[str, list[int]] = field(default_factory=dict)


def make_side(slug: str, *, announced: bool = True) -> Side:
    tenant = make_tenant(slug)
    team = make_team(f"Team {slug}", tenant)
    manager = make_user(f"{slug}-manager", Role.MANAGER, team=team, can_launch=True)
    lead = make_user(f"{slug}-lead", Role.LEAD, team=team, job=Job.LEAD)
    analyst = make_user(
        f"{slug}-analyst", Role.ANALYST, team=team, job=Job.L1_MONITORING
    )
    analyst2 = make_user(
        f"{slug}-analyst2", Role.ANALYST, team=team, job=Job.L2_INVESTIGATION
    )
    now = utcnow()
    window: dict[str, Any] = {}
    if not announced:
        window = {
            "window_start": now - timedelta(days=1),
            "window_end": now + timedelta(days=2),
        }
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(manager),
            name=f"Drill {slug}",
            tenant=db.session.merge(tenant),
            team=db.session.merge(team),
            scenario=read_scenario_file(RANSOMWARE, 512 * 1024),
            seed=SEED,
            announced=announced,
            speed_factor=1.0,
            **window,
        )
    if not announced:
        second = make_user(f"{slug}-manager2", Role.MANAGER, team=team)
        lifecycle.approve(exercise.id, second, now)
        lifecycle.add_trusted_agent(exercise.id, manager, lead, now)
    lifecycle.schedule(exercise.id, manager, now)
    lifecycle.start(exercise.id, manager, now)
    org = tenant_organisation(db.session.get(Tenant, tenant.id), SEED)
    hosts = [host.name for host in org.hosts if host.kind == "workstation"]
    return Side(
        slug, tenant.id, team.id, exercise.id, manager, lead, analyst, analyst2, hosts
    )


def failed_logons(host: str, count: int, user: str = "j.doe") -> list[Event]:
    """Security 4625 events on ``host`` (what the test rule detects)."""
    now = utcnow().timestamp()
    return [
        Event(
            uid=f"console-test-{next(_uids)}",
            ts=now - 60 + i,
            sensor="windows_security",
            host=host,
            product="windows",
            category=None,
            service="security",
            fields={
                "EventID": 4625,
                "TargetUserName": user,
                "IpAddress": "192.0.2.44",
                "Computer": host,
            },
            raw=f"An account failed to log on. Account: {user} Host: {host} "
            "Source: 192.0.2.44",
        )
        for i in range(count)
    ]


def raise_alerts(
    app: Flask, slug: str, exercise_id: int | None, hosts: list[str]
) -> list[int]:
    """Store failed logons on each host and run the detector: one alert per host."""
    store = siem_access.event_store()
    for host in hosts:
        store.insert(
            failed_logons(host, 3),
            tenant=slug,
            exercise=str(exercise_id) if exercise_id is not None else None,
        )
    report = Detector(
        store, [load_rule(FAILED_LOGON_RULE)], name="console-tests"
    ).tick()
    return sorted(set(report.alert_ids))


def build_world(app: Flask) -> ConsoleWorld:
    a = make_side("acme")
    b = make_side("globex")
    world = ConsoleWorld(a, b)
    world.alert_ids["a"] = raise_alerts(app, "acme", a.exercise_id, a.hosts[:2])
    world.alert_ids["b"] = raise_alerts(app, "globex", b.exercise_id, b.hosts[:1])
    return world


@pytest.fixture
def cworld(ctx) -> ConsoleWorld:
    return build_world(ctx)


def signed_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    response = browser.login(username)
    assert response.status_code == 302, response.data
    return browser


class Api:
    """A signed-in browser session calling the JSON API like console pages do."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.token = browser.csrf_token()

    def get(self, url: str, **params: Any) -> Any:
        return self.browser.client.get(url, query_string=params or None)

    def send(
        self, method: str, url: str, body: Any = None, key: str | None = None
    ) -> Any:
        headers = {"X-CSRFToken": self.token}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.browser.client.open(
            url, method=method, json=body if body is not None else {}, headers=headers
        )

    def post(self, url: str, body: Any = None, key: str | None = None) -> Any:
        return self.send("POST", url, body, key)

    def patch(self, url: str, body: Any = None, key: str | None = None) -> Any:
        return self.send("PATCH", url, body, key)


@pytest.fixture
def api_as(app) -> Iterator[Any]:
    yield lambda username: Api(signed_in(app, username))


def activities(exercise_id: int, kind: str | None = None) -> list[Activity]:
    """Activity rows of an exercise (fresh from the database)."""
    db.session.expire_all()
    statement = sa.select(Activity).where(Activity.exercise_id == exercise_id)
    if kind is not None:
        statement = statement.where(Activity.kind == kind)
    return list(db.session.scalars(statement.order_by(Activity.id)))


def exercise(exercise_id: int) -> Exercise:
    db.session.expire_all()
    found = db.session.get(Exercise, exercise_id)
    assert found is not None
    return found
