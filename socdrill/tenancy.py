"""Tenant scoping: every query a person makes sees only their tenants.

A person's tenants are those monitored by the teams they currently belong to; an
admin sees every tenant. Anything outside the scope answers 404, so its existence is
not revealed.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort

from socdrill.extensions import db
from socdrill.models import Exercise, Membership, Role, Tenant, User, team_tenants

Statement = TypeVar("Statement", bound=sa.Select[Any])
CONTROL_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


def visible_tenant_ids(user: User) -> set[int] | None:
    """The ids of ``user``'s tenants, or ``None`` for every tenant (admin)."""
    if user.role == Role.ADMIN:
        return None
    rows = db.session.scalars(
        sa.select(team_tenants.c.tenant_id)
        .join(Membership, Membership.team_id == team_tenants.c.team_id)
        .where(Membership.user_id == user.id, Membership.left_at.is_(None))
        .distinct()
    )
    return set(rows)


def scoped(statement: Statement, tenant_column: Any, user: User) -> Statement:
    """Restrict ``statement`` to rows whose ``tenant_column`` is in ``user``'s scope."""
    ids = visible_tenant_ids(user)
    if ids is None:
        return statement
    return statement.where(tenant_column.in_(ids))


def tenant_or_404(tenant_id: int, user: User) -> Tenant:
    ids = visible_tenant_ids(user)
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or (ids is not None and tenant.id not in ids):
        abort(404)
    return tenant


def exercise_visible(exercise: Exercise, user: User) -> bool:
    """Control sees every exercise in scope; participants see announced drills,
    and unannounced ones only as trusted agents or after ENDEX."""
    if user.role in CONTROL_ROLES:
        return True
    return exercise.announced or exercise.finished or exercise.is_trusted_agent(user.id)


def visible_exercises(user: User) -> sa.Select[tuple[Exercise]]:
    """Exercises ``user`` may know about, newest first."""
    statement = scoped(sa.select(Exercise), Exercise.tenant_id, user)
    if user.role not in CONTROL_ROLES:
        statement = statement.where(
            sa.or_(
                Exercise.announced.is_(True),
                Exercise.state.in_(("ended", "reviewed")),
                Exercise.trusted_agents.any(user_id=user.id),
            )
        )
    return statement.order_by(Exercise.created_at.desc(), Exercise.id.desc())


def exercise_or_404(exercise_id: int, user: User) -> Exercise:
    """The exercise if ``user`` may see it; 404 for anything else."""
    exercise = db.session.scalar(
        scoped(sa.select(Exercise), Exercise.tenant_id, user).where(
            Exercise.id == exercise_id
        )
    )
    if exercise is None or not exercise_visible(exercise, user):
        abort(404)
    return exercise
