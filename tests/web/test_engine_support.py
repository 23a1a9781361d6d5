"""Shared set-up for the engine tests: an app with engine settings, a drill of a
real library scenario, and a clock the tests move by hand.

Collected by pytest like every ``test_*`` module, it holds no tests itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from socdrill.database import write_transaction
from socdrill.engine.delivery import siem_store
from socdrill.engine.ticker import Engine
from socdrill.exercise import lifecycle
from socdrill.exercise.planning import create_draft, read_scenario_file
from socdrill.extensions import db
from socdrill.models import Exercise, Job, Role, utcnow
from tests.conftest import ROOT
from tests.web.conftest import _make_app, make_team, make_tenant, make_user

SCENARIOS = ROOT / "scenarios"
RANSOMWARE = SCENARIOS / "ransomware-finance.yml"
SEED = 20240601


def engine_app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Flask:
    """An app with its schema, no exercise noise unless asked (quicker)."""
    settings = {"ENGINE_NOISE_SCALE": 0.0, **extra}
    app = _make_app(tmp_path, monkeypatch, **settings)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(name="app")
def engine_app_in_context(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An engine app inside its app context: the ``app`` of the modules that
    import it (``app = engine_app_in_context``)."""
    app = engine_app(tmp_path, monkeypatch)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@dataclass
class Drill:
    """A tenant, its team (manager, lead, two analysts) and one exercise."""

    exercise_id: int
    tenant_id: int
    team_id: int
    manager: Any
    manager2: Any
    lead: Any
    analyst: Any
    outsider: Any


def make_drill(
    *,
    scenario: Path = RANSOMWARE,
    speed: float = 60.0,
    announced: bool = True,
    slug: str = "acme",
    **options: Any,
) -> Drill:
    tenant = make_tenant(slug)
    team = make_team(f"Team {slug}", tenant)
    manager = make_user(f"{slug}-manager", Role.MANAGER, team=team, can_launch=True)
    manager2 = make_user(f"{slug}-manager2", Role.MANAGER, team=team)
    lead = make_user(f"{slug}-lead", Role.LEAD, team=team, job=Job.LEAD)
    analyst = make_user(
        f"{slug}-analyst", Role.ANALYST, team=team, job=Job.L1_MONITORING
    )
    other_tenant = make_tenant(f"{slug}-other")
    other_team = make_team(f"Team {slug} other", other_tenant)
    outsider = make_user(f"{slug}-outsider", Role.ANALYST, team=other_team)
    now = utcnow()
    if not announced:
        options.setdefault("window_start", now - timedelta(days=1))
        options.setdefault("window_end", now + timedelta(days=3))
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(manager),
            name=f"Drill {slug}",
            tenant=db.session.merge(tenant),
            team=db.session.merge(team),
            scenario=read_scenario_file(scenario, 512 * 1024),
            seed=SEED,
            announced=announced,
            speed_factor=speed,
            **options,
        )
    return Drill(
        exercise.id, tenant.id, team.id, manager, manager2, lead, analyst, outsider
    )


def start(drill: Drill, at: datetime) -> None:
    """Schedule and start the drill at ``at`` (unannounced: approvals first)."""
    exercise = db.session.get(Exercise, drill.exercise_id)
    if not exercise.announced:
        lifecycle.approve(drill.exercise_id, drill.manager2, at)
        lifecycle.add_trusted_agent(drill.exercise_id, drill.manager, drill.lead, at)
    lifecycle.schedule(drill.exercise_id, drill.manager, at)
    lifecycle.start(drill.exercise_id, drill.manager, at)


def run(engine: Engine, start_at: datetime, until: float, step: float = 30.0):
    """Tick at wall instants from ``start_at`` to ``start_at + until`` seconds."""
    summaries = []
    offset = 0.0
    while offset <= until:
        summaries.append(engine.tick(start_at + timedelta(seconds=offset)))
        offset += step
    return summaries


def siem_rows(app: Flask, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with siem_store(app).connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql, params)]


def scalar(statement: Any) -> Any:
    db.session.commit()
    return db.session.scalar(statement)


def count(statement: Any) -> int:
    db.session.commit()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(statement.subquery())
    )
