"""The demo: a synthetic tenant, a team with every role, and a draft exercise.

Used by ``socdrill demo`` (and so by ``make run``). Passwords are generated and
returned to be printed once; nothing here has a default password.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from socdrill import accounts
from socdrill.exercise.planning import create_draft, read_scenario_file
from socdrill.extensions import db
from socdrill.models import Exercise, Job, Role, Tenant

DEMO_SLUG = "demo"
DEMO_SEED = 20240601
DEMO_SCENARIO = "ransomware-finance.yml"

# username, display name, role, job in the team (None: staff), launch grant
DEMO_PEOPLE: tuple[tuple[str, str, Role, Job | None, bool], ...] = (
    ("demo-manager", "Morgan Manager", Role.MANAGER, None, True),
    ("demo-lead", "Lee Lead", Role.LEAD, Job.LEAD, False),
    ("demo-analyst1", "Ari Analyst", Role.ANALYST, Job.L1_MONITORING, False),
    ("demo-analyst2", "Bo Analyst", Role.ANALYST, Job.L2_INVESTIGATION, False),
    ("demo-analyst3", "Cy Analyst", Role.ANALYST, Job.L3_RESPONSE, False),
    ("demo-hr", "Harper HR", Role.HR, None, False),
    ("demo-observer", "Oak Observer", Role.OBSERVER, None, False),
)


@dataclass
class DemoResult:
    tenant: Tenant
    exercise: Exercise | None
    passwords: list[tuple[str, str, str]]  # username, role, password
    notes: list[str]


def demo_exists() -> bool:
    return (
        db.session.scalar(sa.select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
        is not None
    )


def build_organisation(seed: int) -> tuple[dict[str, Any], str | None]:
    """The demo organisation as plain data, or an empty one with the reason."""
    try:
        from simulator.environment import Organisation
    except ImportError:
        return {}, "the organisation builder is not available; the tenant has none yet"
    return Organisation.build(seed, "small").to_dict(), None


def create_demo(scenarios_dir: Path, scenario_max_bytes: int) -> DemoResult:
    """Add the demo to the session (the caller commits)."""
    notes: list[str] = []
    organisation, note = build_organisation(DEMO_SEED)
    if note:
        notes.append(note)
    tenant = accounts.create_tenant(DEMO_SLUG, "Demo Corp (synthetic)", actor=None)
    tenant.organisation = organisation
    tenant.organisation_seed = DEMO_SEED
    tenant.organisation_size = "small"
    team = accounts.create_team(
        "Blue Team", actor=None, description="The demo SOC team."
    )
    accounts.assign_tenant(team, tenant, actor=None, assigned=True)
    day = accounts.create_shift(team, "Day", 7 * 60, 15 * 60, actor=None)
    accounts.create_shift(team, "Evening", 15 * 60, 23 * 60, actor=None)
    accounts.create_shift(
        team,
        "Night on call",
        23 * 60,
        7 * 60,
        actor=None,
        weekdays=[1, 2, 3, 4, 5, 6, 7],
        on_call=True,
    )
    passwords: list[tuple[str, str, str]] = []
    manager = None
    for username, name, role, job, can_launch in DEMO_PEOPLE:
        user, password = accounts.create_user(
            username, role, actor=None, display_name=name, can_launch=can_launch
        )
        accounts.join_team(user, team, actor=None, job=job, shift=day if job else None)
        passwords.append((username, role.value, password))
        if role == Role.MANAGER:
            manager = user

    exercise = None
    path = scenarios_dir / DEMO_SCENARIO
    if path.is_file():
        exercise = create_draft(
            actor=manager,
            name="Demo: phishing to ransomware",
            tenant=tenant,
            team=team,
            scenario=read_scenario_file(path, scenario_max_bytes),
            seed=DEMO_SEED,
            announced=True,
            max_duration_seconds=4 * 3600,
        )
    else:
        notes.append(f"{DEMO_SCENARIO} is not in the scenario library; no exercise")
    return DemoResult(tenant, exercise, passwords, notes)
