"""Who may see which part of a score: the HR rules of the scoring specification
applied to a person and an exercise or team.

The route allow-table (``socdrill/rbac.py``) only says which roles reach a page; the
checks here decide per object. Anything a person may not know exists answers 404,
exactly like an unknown id; a debrief asked for before ENDEX answers 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from scoring.settings import DEFAULT_SETTINGS
from socdrill import tenancy
from socdrill.console.errors import Conflict, NotFound
from socdrill.extensions import db
from socdrill.models import Exercise, Job, Membership, Role, Team, User

# Jobs that make a member someone the scorer measures (the people "in scope").
SCORED_JOBS = frozenset(
    {Job.L1_MONITORING, Job.L2_INVESTIGATION, Job.L3_RESPONSE, Job.LEAD}
)
# HR rule 5: team aggregates only for at least this many people.
AGGREGATION_MIN = DEFAULT_SETTINGS.aggregation_min


@dataclass(frozen=True, slots=True)
class Audience:
    """How ``scoring.hr.view_for`` must cut a score document for one person."""

    role: str  # a key of scoring.hr.ROLE_CLASSES
    viewer: str | None = None  # the analyst's own name in the document
    individual: bool = False  # may see every person's section (the team's lead)


def _memberships(user: User, team_id: int) -> list[Membership]:
    return list(
        db.session.scalars(
            sa.select(Membership).where(
                Membership.user_id == user.id, Membership.team_id == team_id
            )
        )
    )


def member_during(user: User, team_id: int, start: datetime, end: datetime) -> bool:
    """Was ``user`` in the team at some point between ``start`` and ``end``?"""
    return any(
        m.joined_at <= end and (m.left_at is None or m.left_at >= start)
        for m in _memberships(user, team_id)
    )


def is_current_member(user: User, team_id: int) -> bool:
    return any(m.left_at is None for m in _memberships(user, team_id))


def took_part(user: User, exercise: Exercise) -> bool:
    """A member of the exercised team while the exercise ran."""
    start = exercise.started_at or exercise.created_at
    end = exercise.ended_at or start
    return member_during(user, exercise.team_id, start, end)


def audience(exercise: Exercise, user: User) -> Audience:
    """The cut of ``exercise``'s score ``user`` gets; NotFound/Conflict otherwise."""
    if user.role == Role.ADMIN:
        return Audience("admin")
    if user.role == Role.MANAGER:
        return Audience("manager")
    if user.role == Role.LEAD:
        if not took_part(user, exercise) and not is_current_member(
            user, exercise.team_id
        ):
            raise NotFound("no such exercise in your teams")
        return Audience("lead", viewer=user.username, individual=True)
    if user.role == Role.ANALYST:
        if not took_part(user, exercise):
            raise NotFound("no such exercise in your teams")
        if not exercise.finished:
            raise Conflict("the debrief opens to participants after ENDEX")
        return Audience("analyst", viewer=user.username)
    raise NotFound("no such exercise")


def exercise_for_review(exercise_id: int, user: User) -> tuple[Exercise, Audience]:
    """The exercise if ``user`` may review it, with the cut of its score."""
    exercise = db.session.scalar(
        tenancy.scoped(sa.select(Exercise), Exercise.tenant_id, user).where(
            Exercise.id == exercise_id
        )
    )
    if exercise is None or not tenancy.exercise_visible(exercise, user):
        raise NotFound("no such exercise")
    return exercise, audience(exercise, user)


def require_control(user: User) -> None:
    """Grading and clearing integrity reviews are the white cell's work."""
    if user.role not in (Role.ADMIN, Role.MANAGER, Role.LEAD):
        raise NotFound("no such exercise")


def team_for(team_id: int, user: User) -> Team:
    """A team the person may look at as a whole: its lead (a current member),
    HR staff of the team, or an admin."""
    team = db.session.get(Team, team_id)
    if team is None:
        raise NotFound("no such team")
    if user.role == Role.ADMIN:
        return team
    if user.role in (Role.LEAD, Role.HR) and is_current_member(user, team.id):
        return team
    raise NotFound("no such team")


def people_in_scope(team: Team) -> list[User]:
    """Active members whose job the scorer measures (the HR threshold counts them)."""
    people = {
        m.user.id: m.user
        for m in team.active_memberships()
        if m.job in SCORED_JOBS and m.user.active
    }
    return sorted(people.values(), key=lambda u: u.username)


def shift_of(team: Team) -> dict[str, str]:
    """Username → shift name of the team's current members ("default" without)."""
    return {
        m.user.username: (m.shift.name if m.shift is not None else "default")
        for m in team.active_memberships()
    }
