"""Template helpers: role checks against the allow-table and the exercise banner."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask_login import current_user

from socdrill import rbac, tenancy
from socdrill.exercise.views import banners_for
from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseState, Membership, utcnow

# How long participants keep seeing the ENDEX disclosure.
DISCLOSURE_PERIOD = timedelta(hours=24)


def can(endpoint: str) -> bool:
    """May the current person call ``endpoint``? (Hides buttons they cannot use.)"""
    role = current_user.role if current_user.is_authenticated else None
    return rbac.allowed(endpoint, role)


def exercise_banners() -> list[dict[str, str]]:
    """Banner lines for the exercises that concern the current person."""
    if not current_user.is_authenticated:
        return []
    me = current_user._get_current_object()
    recent = utcnow() - DISCLOSURE_PERIOD
    concerned = sa.or_(
        Exercise.state.in_((ExerciseState.RUNNING, ExerciseState.PAUSED)),
        sa.and_(Exercise.state == ExerciseState.ENDED, Exercise.ended_at >= recent),
    )
    statement = sa.select(Exercise).where(concerned)
    if me.role in tenancy.CONTROL_ROLES:
        statement = tenancy.scoped(statement, Exercise.tenant_id, me)
    else:
        statement = statement.join(
            Membership, Membership.team_id == Exercise.team_id
        ).where(Membership.user_id == me.id, Membership.left_at.is_(None))
    rows = db.session.scalars(statement.order_by(Exercise.id).limit(10)).all()
    return banners_for(list(rows), me)


def init_app(app: Flask) -> None:
    # Globals, not a context processor: imported macros see them too.
    app.jinja_env.globals.update(can=can, exercise_banners=exercise_banners)
