"""Skill states and score history of a team, for the team, HR and personal views.

Skill states come from :class:`~socdrill.models.SkillSnapshot`: each person's newest
value of each cell over the exercises they were scored in. They are shown with their
uncertainty band and evidence state (``scoring.skills.display``), never ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from scoring.settings import DEFAULT_SETTINGS
from scoring.skills import ANY, Cell, SkillState, cell_name, coverage, display
from simulator.vocabulary import SCOPES
from socdrill.extensions import db
from socdrill.models import Exercise, ScoreRecord, SkillSnapshot, Team, User
from socdrill.review.access import shift_of
from socdrill.review.tables import Table, rounded

SETTINGS = DEFAULT_SETTINGS


def latest_states(users: Iterable[User]) -> dict[str, dict[Cell, SkillState]]:
    """Username → cell → newest state (by the exercise's ENDEX)."""
    by_id = {u.id: u.username for u in users}
    if not by_id:
        return {}
    rows = db.session.execute(
        sa.select(SkillSnapshot)
        .join(Exercise, Exercise.id == SkillSnapshot.exercise_id)
        .where(SkillSnapshot.user_id.in_(list(by_id)))
        .order_by(Exercise.ended_at, SkillSnapshot.id)
    ).scalars()
    states: dict[str, dict[Cell, SkillState]] = {name: {} for name in by_id.values()}
    for row in rows:
        states[by_id[row.user_id]][(row.scope, row.tactic)] = SkillState(
            row.theta, row.evidence, row.updated_at
        )
    return states


def profile_table(
    states: Mapping[str, Mapping[Cell, SkillState]], now: float, name: str = "skills"
) -> Table:
    """Every cell of every person given, with band and evidence state."""
    rows = []
    for person, cells in sorted(states.items()):
        for cell, state in sorted(cells.items()):
            shown = display(state, now, SETTINGS)
            rows.append(
                {
                    "person": person,
                    "cell": cell_name(cell),
                    "p_med": rounded(shown["p_med"]),  # type: ignore[arg-type]
                    "band_low": rounded(shown["band"][0]),  # type: ignore[index]
                    "band_high": rounded(shown["band"][1]),  # type: ignore[index]
                    "n": rounded(shown["n"], 2),  # type: ignore[arg-type]
                    "status": shown["status"],
                }
            )
    return Table(
        name,
        "Skill profile (expected success on a medium item, 95 % band)",
        [
            ("person", "Person"),
            ("cell", "Scope:tactic"),
            ("p_med", "p_med"),
            ("band_low", "Band low"),
            ("band_high", "Band high"),
            ("n", "Evidence n"),
            ("status", "Status"),
        ],
        rows,
    )


def skill_matrix(states: Mapping[str, Mapping[Cell, SkillState]], now: float) -> Table:
    """Analyst × scope (the scope roll-ups), with uncertainty; alphabetical."""
    rows = []
    for person, cells in sorted(states.items()):
        for scope in SCOPES:
            state = cells.get((scope, ANY))
            row: dict[str, Any] = {"person": person, "scope": scope}
            if state is None:
                row.update(
                    p_med=None,
                    band_low=None,
                    band_high=None,
                    n=0.0,
                    status="no evidence",
                )
            else:
                shown = display(state, now, SETTINGS)
                row.update(
                    p_med=rounded(shown["p_med"]),  # type: ignore[arg-type]
                    band_low=rounded(shown["band"][0]),  # type: ignore[index]
                    band_high=rounded(shown["band"][1]),  # type: ignore[index]
                    n=rounded(shown["n"], 2),  # type: ignore[arg-type]
                    status=shown["status"],
                )
            rows.append(row)
    return Table(
        "skill_matrix",
        "Skill matrix: analyst × scope (95 % band; never a ranking)",
        [
            ("person", "Analyst"),
            ("scope", "Scope"),
            ("p_med", "p_med"),
            ("band_low", "Band low"),
            ("band_high", "Band high"),
            ("n", "Evidence n"),
            ("status", "Status"),
        ],
        rows,
    )


def team_coverage(
    team: Team, states: Mapping[str, Mapping[Cell, SkillState]], now: float
) -> dict[str, Any]:
    """Qualified analysts per scope and shift (counts), and the gaps below two."""
    shifts: dict[str, list[str]] = {}
    for person, shift in shift_of(team).items():
        if person in states:
            shifts.setdefault(shift, []).append(person)
    if not shifts:
        shifts = {"default": []}
    return coverage(states, shifts, SCOPES, now, SETTINGS)


def scored_exercises(team: Team) -> list[tuple[Exercise, ScoreRecord]]:
    """The team's scored exercises, oldest ENDEX first."""
    rows = db.session.execute(
        sa.select(Exercise, ScoreRecord)
        .join(ScoreRecord, ScoreRecord.exercise_id == Exercise.id)
        .where(Exercise.team_id == team.id)
        .order_by(Exercise.ended_at, Exercise.id)
    ).all()
    return [(exercise, record) for exercise, record in rows]


def trend_table(history: list[tuple[Exercise, ScoreRecord]]) -> Table:
    """Team exercise score and its profile over time; announced and unannounced
    runs are marked so they are charted apart."""
    component_names = ("damage_prevented", "timeliness", "triage", "response", "report")
    rows = []
    for exercise, record in history:
        components = record.document.get("components") or {}
        rows.append(
            {
                "exercise": exercise.name,
                "scenario": exercise.scenario_id,
                "ended": exercise.ended_at.date() if exercise.ended_at else None,
                "kind": "announced" if record.announced else "unannounced",
                "c_eff": rounded((record.document.get("exercise") or {}).get("c_eff")),
                "tes": rounded(record.tes, 1),
                **{name: rounded(components.get(name)) for name in component_names},
            }
        )
    return Table(
        "trend",
        "Team profile by exercise",
        [
            ("exercise", "Exercise"),
            ("scenario", "Scenario"),
            ("ended", "ENDEX"),
            ("kind", "Kind"),
            ("c_eff", "Speed c_eff"),
            ("tes", "TES"),
            ("damage_prevented", "Damage prevented"),
            ("timeliness", "Timeliness"),
            ("triage", "Triage"),
            ("response", "Response"),
            ("report", "Reporting"),
        ],
        rows,
    )


def cohesion_trend(history: list[tuple[Exercise, ScoreRecord]]) -> Table:
    """The five cohesion components with CI per exercise, and the red flags."""
    rows = []
    for exercise, record in history:
        cohesion = record.document.get("cohesion")
        if not cohesion:
            continue
        components = cohesion.get("components") or {}
        rows.append(
            {
                "exercise": exercise.name,
                "ended": exercise.ended_at.date() if exercise.ended_at else None,
                "ci": rounded(cohesion.get("ci"), 1),
                **{
                    k: rounded(components.get(k))
                    for k in ("PB", "IS", "HQ", "CS", "KS")
                },
                "red_flags": "; ".join(
                    " ".join(str(v) for v in flag.values())
                    for flag in cohesion.get("red_flags") or []
                ),
            }
        )
    return Table(
        "cohesion",
        "Cohesion by exercise (team level only)",
        [
            ("exercise", "Exercise"),
            ("ended", "ENDEX"),
            ("ci", "CI"),
            ("PB", "Balance PB"),
            ("IS", "Information IS"),
            ("HQ", "Hand-offs HQ"),
            ("CS", "Core stability CS"),
            ("KS", "Knowledge KS"),
            ("red_flags", "Red flags"),
        ],
        rows,
    )
