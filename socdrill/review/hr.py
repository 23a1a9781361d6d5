"""The HR view: team aggregates for teams of five or more people in scope,
coverage counts for every team, trends; never an individual leaderboard.

An individual profile reaches HR only on a justified request naming its reason and
the person who reviews the use (SCORING.md HR rules 2 and 5); the request is
written to the audit log before anything is shown, and it is refused for teams below
the aggregation threshold, where even a profile "on request" would single a person
out of a handful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from scoring.hr import aggregate
from scoring.skills import ANY, display
from scoring.team import readiness_gap
from simulator.vocabulary import SCOPES
from socdrill import audit
from socdrill.console.errors import Invalid, NotFound
from socdrill.console.scope import teams_of
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import Role, Team, User, utcnow
from socdrill.review import people
from socdrill.review.access import AGGREGATION_MIN, people_in_scope
from socdrill.review.schemas import HrRequestIn
from socdrill.review.tables import Table, coverage_table, rounded
from socdrill.review.views import audit_read

REVIEWER_ROLES = (Role.ADMIN, Role.MANAGER, Role.LEAD, Role.HR)


@dataclass
class HrTeam:
    team: Team
    people: int
    aggregated: bool
    reason: str | None
    tables: list[Table] = field(default_factory=list)
    readiness: dict[str, Any] | None = None


def _skill_aggregates(states: dict[str, Any], now: float) -> Table:
    rows = []
    for scope in SCOPES:
        values = {
            person: float(display(cells[(scope, ANY)], now, people.SETTINGS)["p_med"])  # type: ignore[arg-type]
            for person, cells in states.items()
            if (scope, ANY) in cells
        }
        summary = aggregate(values, AGGREGATION_MIN)
        rows.append(
            {
                "scope": scope,
                "people_with_evidence": summary["n"],
                "mean_p_med": rounded(summary.get("mean")),  # type: ignore[arg-type]
                "median_p_med": rounded(summary.get("median")),  # type: ignore[arg-type]
                "shown": not summary["suppressed"],
            }
        )
    return Table(
        "skill_aggregates",
        f"Team skill per scope (aggregates of at least {AGGREGATION_MIN} people)",
        [
            ("scope", "Scope"),
            ("people_with_evidence", "People with evidence"),
            ("mean_p_med", "Mean p_med"),
            ("median_p_med", "Median p_med"),
            ("shown", "Shown"),
        ],
        rows,
    )


def hr_team(team: Team, now: float) -> HrTeam:
    members = people_in_scope(team)
    states = people.latest_states(members)
    cover = coverage_table(people.team_coverage(team, states, now))
    if len(members) < AGGREGATION_MIN:
        return HrTeam(
            team=team,
            people=len(members),
            aggregated=False,
            reason=f"team aggregates are shown for teams of at least "
            f"{AGGREGATION_MIN} people in scope (this team: {len(members)})",
            tables=[cover] if cover is not None else [],
        )
    history = people.scored_exercises(team)
    announced = [r.tes for _, r in history if r.announced and r.tes is not None]
    unannounced = [r.tes for _, r in history if not r.announced and r.tes is not None]
    tables = [people.trend_table(history), _skill_aggregates(states, now)]
    if cover is not None:
        tables.append(cover)
    tables.append(people.cohesion_trend(history))
    return HrTeam(
        team=team,
        people=len(members),
        aggregated=True,
        reason=None,
        tables=tables,
        readiness=readiness_gap(announced, unannounced),
    )


def hr_view(reader: User, surface: str) -> list[HrTeam]:
    now = utcnow().timestamp()
    teams = [hr_team(team, now) for team in teams_of(reader)]
    audit_read(
        reader,
        surface,
        sections=["hr", "coverage"],
        subjects=[],
        extra={
            "teams": [t.team.name for t in teams],
            "aggregated": [t.team.name for t in teams if t.aggregated],
        },
    )
    return teams


def hr_profile(reader: User, body: HrRequestIn) -> tuple[User, Table]:
    """One person's profile for HR, after logging the justified request."""
    subject = db.session.scalar(sa.select(User).where(User.username == body.username))
    team = None
    if subject is not None:
        for candidate in teams_of(reader):
            if any(p.id == subject.id for p in people_in_scope(candidate)):
                team = candidate
                break
    if subject is None or team is None:
        raise NotFound(
            f"nobody called {body.username!r} is in scope in your teams",
            {"username": "unknown"},
        )
    size = len(people_in_scope(team))
    if size < AGGREGATION_MIN:
        raise Invalid(
            f"individual profiles are not released to HR for teams below "
            f"{AGGREGATION_MIN} people in scope ({team.name}: {size})",
            {"username": "team below the threshold"},
        )
    reviewer = db.session.scalar(
        sa.select(User).where(User.username == body.reviewer, User.active.is_(True))
    )
    if (
        reviewer is None
        or reviewer.role not in REVIEWER_ROLES
        or reviewer.id
        in (
            reader.id,
            subject.id,
        )
    ):
        raise Invalid(
            "name another person (a manager, lead or HR colleague) who reviews "
            "this use",
            {"reviewer": "not a reviewer"},
        )
    with write_transaction():
        audit.record(
            "review.hr_individual_request",
            actor=db.session.merge(reader),
            target=subject,
            detail={
                "team": team.name,
                "reason": body.reason,
                "reviewer": reviewer.username,
            },
        )
    now = utcnow().timestamp()
    states = people.latest_states([subject])
    return subject, people.profile_table(states, now)
