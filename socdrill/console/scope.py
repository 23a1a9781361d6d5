"""Whose objects a person may touch: their tenants, their teams, the exercise in play.

Objects outside the scope raise :class:`NotFound`, exactly like unknown ones, so an
answer never reveals that another tenant's alert or another team's article exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from socdrill import tenancy
from socdrill.console.errors import NotFound
from socdrill.extensions import db
from socdrill.models import (
    Exercise,
    ExerciseState,
    Membership,
    Role,
    Team,
    Tenant,
    User,
)

IN_PLAY = (ExerciseState.RUNNING, ExerciseState.PAUSED)


def me() -> User:
    """The signed-in person (session or API token)."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def tenants_of(user: User) -> list[Tenant]:
    """The tenants ``user`` may see, by name."""
    statement = tenancy.scoped(sa.select(Tenant), Tenant.id, user)
    return list(db.session.scalars(statement.order_by(Tenant.name)))


def tenant_by_slug(slug: str, user: User) -> Tenant:
    for tenant in tenants_of(user):
        if tenant.slug == slug:
            return tenant
    raise NotFound(f"no tenant {slug!r} in your scope", {"tenant": "unknown tenant"})


def teams_of(user: User) -> list[Team]:
    """The teams ``user`` belongs to now (every team for an admin)."""
    statement = sa.select(Team).order_by(Team.name)
    if user.role != Role.ADMIN:
        statement = statement.join(Membership).where(
            Membership.user_id == user.id, Membership.left_at.is_(None)
        )
    return list(db.session.scalars(statement.distinct()))


def team_by_name(name: str | None, user: User) -> Team:
    """The named team of ``user``, or their first team when no name is given."""
    teams = teams_of(user)
    if not teams:
        raise NotFound("you belong to no team", {"team": "join a team first"})
    if not name:
        return teams[0]
    for team in teams:
        if team.name == name:
            return team
    raise NotFound(f"no team {name!r} in your scope", {"team": "unknown team"})


def _active_members(team_ids: list[int]) -> list[User]:
    """Active people with a current membership in any of ``team_ids``, by username
    (one query: pages list fifty people and must not load them one by one)."""
    if not team_ids:
        return []
    statement = (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.team_id.in_(team_ids),
            Membership.left_at.is_(None),
            User.active.is_(True),
        )
        .distinct()
        .order_by(User.username)
    )
    return list(db.session.scalars(statement))


def team_members(team: Team) -> list[User]:
    """The active people of ``team`` now, by username."""
    return _active_members([team.id])


def colleagues(user: User) -> list[User]:
    """Everyone in ``user``'s teams (for assignees, hand-offs and mentions)."""
    return _active_members([team.id for team in teams_of(user)])


def colleague_by_name(username: str, user: User) -> User:
    for person in colleagues(user):
        if person.username == username:
            return person
    raise NotFound(f"nobody called {username!r} in your teams", {"user": "unknown"})


def exercise_in_play_for_tenant(tenant_id: int, user: User) -> Exercise | None:
    """The running or paused exercise on ``tenant_id`` that ``user``'s teams play."""
    team_ids = [team.id for team in teams_of(user)]
    if not team_ids:
        return None
    return db.session.scalar(
        sa.select(Exercise)
        .where(
            Exercise.tenant_id == tenant_id,
            Exercise.team_id.in_(team_ids),
            Exercise.state.in_(IN_PLAY),
        )
        .order_by(Exercise.started_at.desc(), Exercise.id.desc())
        .limit(1)
    )


def exercise_in_play_for_team(team_id: int) -> Exercise | None:
    """The running or paused exercise ``team_id`` plays (the newest if several)."""
    return db.session.scalar(
        sa.select(Exercise)
        .where(Exercise.team_id == team_id, Exercise.state.in_(IN_PLAY))
        .order_by(Exercise.started_at.desc(), Exercise.id.desc())
        .limit(1)
    )


def exercise_label(exercise: Exercise | None, user: User) -> str:
    """How to name an exercise to ``user``; a secret drill is only the sandbox."""
    if exercise is None:
        return "no exercise"
    if tenancy.exercise_visible(exercise, user):
        return f"exercise “{exercise.name}”"
    return f"the {exercise.tenant.name} sandbox"
