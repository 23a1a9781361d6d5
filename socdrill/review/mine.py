"""An analyst's own view: their timeline and points with the justification of
each, their skill profile, and their contests (HR rule 3: your own data first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from scoring.settings import MINUTE
from socdrill.extensions import db
from socdrill.models import Activity, Exercise, Membership, ScoreRecord, User, utcnow
from socdrill.review import people
from socdrill.review.access import Audience, took_part
from socdrill.review.records import contestable_items
from socdrill.review.tables import Table, points_table
from socdrill.review.views import audit_read, contest_rows, cut


@dataclass
class MyExercise:
    exercise: Exercise
    scored: bool
    timeline: list[dict[str, Any]] = field(default_factory=list)
    attribution: list[dict[str, Any]] = field(default_factory=list)
    points: Table | None = None
    contests: list[dict[str, Any]] = field(default_factory=list)
    contestable: list[str] = field(default_factory=list)


def my_exercises(user: User) -> list[Exercise]:
    """Ended exercises of the teams ``user`` was in while they ran, newest first."""
    team_ids = db.session.scalars(
        sa.select(Membership.team_id).where(Membership.user_id == user.id).distinct()
    ).all()
    rows = db.session.scalars(
        sa.select(Exercise)
        .where(
            Exercise.team_id.in_(team_ids),
            Exercise.state.in_(("ended", "reviewed")),
        )
        .order_by(Exercise.ended_at.desc(), Exercise.id.desc())
    ).all()
    return [e for e in rows if took_part(user, e)]


def timeline(exercise: Exercise, user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        sa.select(Activity)
        .where(Activity.exercise_id == exercise.id, Activity.actor_id == user.id)
        .order_by(Activity.active_seconds, Activity.id)
    )
    return [
        {
            "at_minute": round(row.active_seconds / MINUTE, 1),
            "kind": row.kind,
            "targets": [str(x) for x in (row.payload or {}).get("targets") or []],
            "ticket": (row.payload or {}).get("ticket"),
        }
        for row in rows
    ]


def my_exercise(exercise: Exercise, user: User) -> MyExercise:
    record = db.session.get(ScoreRecord, exercise.id)
    item = MyExercise(
        exercise=exercise,
        scored=record is not None,
        timeline=timeline(exercise, user),
        contests=contest_rows(exercise, user),
    )
    if record is not None:
        document = cut(record.document, Audience("analyst", viewer=user.username))
        mine = (document.get("individual") or {}).get(user.username) or {}
        item.attribution = list(mine.get("attribution") or [])
        item.points = points_table({user.username: mine})
        item.contestable = contestable_items(document, user.username)
    return item


def my_view(user: User, surface: str) -> tuple[list[MyExercise], Table]:
    """Every exercise of mine, and my current skill profile; the read is audited."""
    exercises = [my_exercise(e, user) for e in my_exercises(user)]
    now = utcnow().timestamp()
    skills = people.profile_table(people.latest_states([user]), now)
    audit_read(
        user,
        surface,
        sections=["individual"],
        subjects=[user.username],
        extra={"own": True},
    )
    return exercises, skills
