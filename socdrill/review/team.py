"""The team lead's view: profile trends, readiness gap, skill matrix, coverage
per scope and shift, cohesion components and flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scoring.team import readiness_gap
from socdrill.models import Team, User, utcnow
from socdrill.review import people
from socdrill.review.access import people_in_scope
from socdrill.review.tables import Table, coverage_table
from socdrill.review.views import audit_read


@dataclass
class TeamView:
    team: Team
    people: int
    tables: list[Table] = field(default_factory=list)
    readiness: dict[str, Any] = field(default_factory=dict)
    headline: str | None = None
    trend_chart: dict[str, Any] = field(default_factory=dict)


def team_view(team: Team, reader: User, surface: str) -> TeamView:
    """Build the view and audit the read of individual and cohesion data."""
    now = utcnow().timestamp()
    members = people_in_scope(team)
    states = people.latest_states(members)
    history = people.scored_exercises(team)
    trend = people.trend_table(history)
    announced = [r.tes for _, r in history if r.announced and r.tes is not None]
    unannounced = [r.tes for _, r in history if not r.announced and r.tes is not None]
    cohesion = people.cohesion_trend(history)
    coverage = coverage_table(people.team_coverage(team, states, now))
    view = TeamView(
        team=team,
        people=len(members),
        tables=[
            trend,
            people.skill_matrix(states, now),
            *([coverage] if coverage is not None else []),
            cohesion,
        ],
        readiness=readiness_gap(announced, unannounced),
    )
    latest = next(
        (
            r.document.get("cohesion")
            for _, r in reversed(history)
            if r.document.get("cohesion")
        ),
        None,
    )
    view.headline = latest.get("headline") if latest else None
    view.trend_chart = {
        "labels": [row["exercise"] for row in trend.rows],
        "announced": [
            row["tes"] if row["kind"] == "announced" else None for row in trend.rows
        ],
        "unannounced": [
            row["tes"] if row["kind"] == "unannounced" else None for row in trend.rows
        ],
    }
    audit_read(
        reader,
        surface,
        tenant_id=None,
        sections=["individual", "cohesion", "coverage"],
        subjects=[m.username for m in members],
        extra={"team": team.name},
    )
    return view
