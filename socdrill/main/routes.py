"""Landing page and dashboard."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from socdrill import tenancy
from socdrill.extensions import db
from socdrill.main import bp
from socdrill.models import Role, Team, Tenant, User


@bp.get("/")
def index() -> str:
    """What socdrill is, and the way in."""
    return render_template("index.html")


@bp.get("/dashboard")
def dashboard() -> str:
    """Each role's starting point."""
    me = current_user._get_current_object()  # type: ignore[attr-defined]
    exercises = db.session.scalars(tenancy.visible_exercises(me).limit(50)).all()
    counts = {}
    if me.role == Role.ADMIN:
        counts = {
            "users": db.session.scalar(sa.select(sa.func.count(User.id))),
            "teams": db.session.scalar(sa.select(sa.func.count(Team.id))),
            "tenants": db.session.scalar(sa.select(sa.func.count(Tenant.id))),
        }
    return render_template(
        "dashboard/index.html",
        exercises=exercises,
        counts=counts,
        teams=[m.team for m in me.active_memberships()],
    )
