"""Admin views. Every change goes through socdrill/accounts.py and is audited."""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from flask import abort, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill import accounts, audit
from socdrill.accounts import AccountError
from socdrill.admin import bp
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import (
    Job,
    Membership,
    NoiseProfile,
    Role,
    Shift,
    Team,
    Tenant,
    User,
)
from socdrill.responses import done, fields, refused

ModelT = TypeVar("ModelT")


def _form(name: str, default: str = "") -> str:
    value = fields().get(name)
    return str(default if value is None or value == "" else value).strip()


def _flag(name: str) -> bool | None:
    """A checkbox-like field: None when absent, so partial updates stay partial."""
    values = fields()
    if name not in values:
        return None
    return str(values[name]).strip().lower() in ("1", "true", "on", "yes")


def _weekdays() -> list[int]:
    values = fields()
    raw = values.get("weekdays", []) if request.is_json else values.getlist("weekdays")
    if not isinstance(raw, list):
        raise AccountError("weekdays are a list of numbers 1-7")
    return [int(day) for day in raw if str(day).isdigit()]


def _get_or_404(model: type[ModelT], object_id: int) -> ModelT:
    row = db.session.get(model, object_id)
    if row is None:
        abort(404)
    return row


def _parse_minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit()):
        raise AccountError(f"{text!r} is not a time; write it as HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or not 0 <= value < 1440:
        raise AccountError(f"{text!r} is not a time of day")
    return value


@bp.get("/users")
def users() -> str:
    """All accounts, with a form to create one."""
    return render_template(
        "admin/users.html",
        users=db.session.scalars(sa.select(User).order_by(User.username)).all(),
        teams=db.session.scalars(sa.select(Team).order_by(Team.name)).all(),
        roles=list(Role),
        jobs=list(Job),
    )


@bp.post("/users")
def user_create() -> Response | str | tuple[str, int]:
    """Create an account; its generated password is shown once."""
    try:
        with write_transaction():
            user, password = accounts.create_user(
                _form("username"),
                accounts.parse_role(_form("role")),
                actor=current_user,
                display_name=_form("display_name"),
            )
            team_id = _form("team_id")
            if team_id:
                team = db.session.get(Team, int(team_id)) if team_id.isdigit() else None
                if team is None:
                    raise AccountError("that team does not exist")
                accounts.join_team(
                    user, team, actor=current_user, job=accounts.parse_job(_form("job"))
                )
    except AccountError as error:
        return refused(str(error), url_for("admin.users"), 400)
    return render_template(
        "admin/users.html",
        users=db.session.scalars(sa.select(User).order_by(User.username)).all(),
        teams=db.session.scalars(sa.select(Team).order_by(Team.name)).all(),
        roles=list(Role),
        jobs=list(Job),
        created=(user.username, password),
    )


@bp.post("/users/<int:user_id>")
def user_update(user_id: int) -> Response | tuple[Response, int]:
    """Change role, launch grant or active flag (each audited)."""
    back = url_for("admin.users")
    try:
        with write_transaction():
            user = _get_or_404(User, user_id)
            role, active = _form("role"), _flag("active")
            if user.id == current_user.id and (
                (role and role != user.role.value) or active is False
            ):
                raise AccountError(
                    "you cannot change your own role or disable yourself"
                )
            if role:
                accounts.set_role(user, accounts.parse_role(role), actor=current_user)
            launch = _flag("can_launch")
            if launch is not None:
                accounts.set_launch_grant(user, launch, actor=current_user)
            if active is not None:
                accounts.set_active(user, active, actor=current_user)
    except AccountError as error:
        return refused(str(error), back, 400)
    return done(f"{user.username} updated.", back)


@bp.get("/teams")
def teams() -> str:
    return render_template(
        "admin/teams.html",
        teams=db.session.scalars(sa.select(Team).order_by(Team.name)).all(),
    )


@bp.post("/teams")
def team_create() -> Response | tuple[Response, int]:
    try:
        with write_transaction():
            team = accounts.create_team(
                _form("name"), actor=current_user, description=_form("description")
            )
    except AccountError as error:
        return refused(str(error), url_for("admin.teams"), 400)
    return done(f"Team {team.name} created.", url_for("admin.team", team_id=team.id))


@bp.get("/teams/<int:team_id>")
def team(team_id: int) -> str:
    """A team: members (with history), shifts and monitored tenants."""
    row = _get_or_404(Team, team_id)
    return render_template(
        "admin/team.html",
        team=row,
        memberships=sorted(
            row.memberships, key=lambda m: (m.left_at is not None, m.joined_at)
        ),
        tenants=db.session.scalars(sa.select(Tenant).order_by(Tenant.name)).all(),
        jobs=list(Job),
    )


@bp.post("/teams/<int:team_id>/members")
def member_add(team_id: int) -> Response | tuple[Response, int]:
    back = url_for("admin.team", team_id=team_id)
    try:
        with write_transaction():
            row = _get_or_404(Team, team_id)
            user = db.session.scalar(
                sa.select(User).where(User.username == _form("username").lower())
            )
            if user is None:
                raise AccountError(f"no account is called {_form('username')!r}")
            shift = None
            if _form("shift_id").isdigit():
                shift = db.session.get(Shift, int(_form("shift_id")))
            accounts.join_team(
                user,
                row,
                actor=current_user,
                job=accounts.parse_job(_form("job")),
                shift=shift,
            )
    except AccountError as error:
        return refused(str(error), back, 400)
    return done(f"{user.username} joined {row.name}.", back)


@bp.post("/memberships/<int:membership_id>/end")
def member_remove(membership_id: int) -> Response:
    with write_transaction():
        membership = _get_or_404(Membership, membership_id)
        accounts.leave_team(membership, actor=current_user)
        team_id = membership.team_id
    return done("Membership ended.", url_for("admin.team", team_id=team_id))


@bp.post("/teams/<int:team_id>/tenants")
def team_tenant(team_id: int) -> Response | tuple[Response, int]:
    back = url_for("admin.team", team_id=team_id)
    with write_transaction():
        row = _get_or_404(Team, team_id)
        tenant_id = _form("tenant_id")
        tenant = db.session.get(Tenant, int(tenant_id)) if tenant_id.isdigit() else None
        if tenant is None:
            return refused("choose a tenant", back, 400)
        assigned = _flag("assigned")
        accounts.assign_tenant(
            row, tenant, actor=current_user, assigned=assigned is not False
        )
    return done("Tenants updated.", back)


@bp.post("/teams/<int:team_id>/shifts")
def shift_create(team_id: int) -> Response | tuple[Response, int]:
    back = url_for("admin.team", team_id=team_id)
    try:
        with write_transaction():
            row = _get_or_404(Team, team_id)
            weekdays = _weekdays()
            accounts.create_shift(
                row,
                _form("name"),
                _parse_minutes(_form("start")),
                _parse_minutes(_form("end")),
                actor=current_user,
                weekdays=weekdays or None,
                timezone=_form("timezone", "UTC") or "UTC",
                on_call=bool(_flag("on_call")),
            )
    except AccountError as error:
        return refused(str(error), back, 400)
    return done("Shift added.", back)


@bp.get("/tenants")
def tenants() -> str:
    return render_template(
        "admin/tenants.html",
        tenants=db.session.scalars(sa.select(Tenant).order_by(Tenant.name)).all(),
        noise_profiles=list(NoiseProfile),
    )


def _noise(value: str) -> NoiseProfile:
    try:
        return NoiseProfile(value or NoiseProfile.OFFICE.value)
    except ValueError:
        raise AccountError(f"unknown noise profile {value!r}") from None


def _retention(value: str, default: int) -> int:
    if not value:
        return default
    if not value.isdigit():
        raise AccountError("retention is a whole number of days")
    return int(value)


@bp.post("/tenants")
def tenant_create() -> Response | tuple[Response, int]:
    try:
        with write_transaction():
            tenant = accounts.create_tenant(
                _form("slug"),
                _form("name"),
                actor=current_user,
                noise_profile=_noise(_form("noise_profile")),
                retention_days=_retention(_form("retention_days"), 730),
                live=bool(_flag("live")),
            )
    except AccountError as error:
        return refused(str(error), url_for("admin.tenants"), 400)
    return done(f"Tenant {tenant.name} created.", url_for("admin.tenants"))


@bp.post("/tenants/<int:tenant_id>")
def tenant_update(tenant_id: int) -> Response | tuple[Response, int]:
    back = url_for("admin.tenants")
    try:
        with write_transaction():
            tenant = _get_or_404(Tenant, tenant_id)
            changes: dict[str, object] = {}
            if _form("name"):
                tenant.name = changes["name"] = _form("name")[:120]
            if _form("retention_days"):
                days = _retention(_form("retention_days"), tenant.retention_days)
                if days <= 0:
                    raise AccountError("retention must be at least one day")
                tenant.retention_days = changes["retention_days"] = days
            if _form("noise_profile"):
                tenant.noise_profile = _noise(_form("noise_profile"))
                changes["noise_profile"] = tenant.noise_profile.value
            live = _flag("live")
            if live is not None:
                tenant.live = changes["live"] = live
            audit.record(
                "tenant.update",
                actor=current_user,
                tenant_id=tenant.id,
                target=tenant,
                detail=changes,
            )
    except AccountError as error:
        return refused(str(error), back, 400)
    return done(f"Tenant {tenant.name} updated.", back)
