"""People, teams and tenants: the changes the admin pages and the CLI share.

Each function checks its input, adds rows to the session and writes the audit row;
the caller owns the transaction.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from socdrill import audit
from socdrill.auth.passwords import check_new_password, generate_password, hash_password
from socdrill.auth.sessions import end_every_session
from socdrill.auth.tokens import revoke_all
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
    utcnow,
)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


class AccountError(ValueError):
    """The change cannot be made as asked; nothing was saved."""


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise AccountError(f"unknown role {value!r}; choose one of {names}") from None


def parse_job(value: str | None) -> Job | None:
    if value is None or not value.strip():
        return None
    try:
        return Job(value.strip().lower())
    except ValueError:
        names = ", ".join(job.value for job in Job)
        raise AccountError(f"unknown job {value!r}; choose one of {names}") from None


def create_user(
    username: str,
    role: Role,
    *,
    actor: User | None,
    display_name: str = "",
    password: str | None = None,
    can_launch: bool = False,
) -> tuple[User, str]:
    """Create an account; return it with its password (generated when not given)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError(
            "a username is 2-64 characters: lowercase letters, digits, '.', '_' or '-'"
        )
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise AccountError(f"the username {username!r} is taken")
    if password is None:
        password = generate_password()
    else:
        try:
            check_new_password(password, username)
        except ValueError as error:
            raise AccountError(f"password refused: {error}") from None
    user = User(
        username=username,
        display_name=display_name.strip()[:120],
        role=role,
        password_hash=hash_password(password),
        can_launch=can_launch,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        actor=actor,
        target=user,
        detail={"username": username, "role": role.value, "can_launch": can_launch},
    )
    return user, password


def set_role(user: User, role: Role, *, actor: User | None) -> None:
    if user.role == role:
        return
    before = user.role
    user.role = role
    # Live sockets keep the rooms their old role allowed until they reconnect;
    # ending the person's sessions closes them (and they sign in with the new role).
    end_every_session(user)
    audit.record(
        "user.role",
        actor=actor,
        target=user,
        detail={"from": before.value, "to": role.value},
    )


def set_launch_grant(user: User, granted: bool, *, actor: User | None) -> None:
    if user.can_launch == granted:
        return
    user.can_launch = granted
    audit.record("user.launch_grant", actor=actor, target=user, detail={"to": granted})


def set_active(user: User, active: bool, *, actor: User | None) -> None:
    """Enable or disable an account; disabling ends its sessions and API tokens."""
    if user.active == active:
        return
    user.active = active
    detail: dict[str, object] = {"to": active}
    if not active:
        end_every_session(user)
        detail["revoked_tokens"] = revoke_all(user)
    audit.record("user.active", actor=actor, target=user, detail=detail)


def create_team(name: str, *, actor: User | None, description: str = "") -> Team:
    name = name.strip()
    if not name or len(name) > 80:
        raise AccountError("a team name has 1-80 characters")
    if db.session.scalar(sa.select(Team.id).where(Team.name == name)):
        raise AccountError(f"the team {name!r} exists already")
    team = Team(name=name, description=description.strip())
    db.session.add(team)
    db.session.flush()
    audit.record("team.create", actor=actor, target=team, detail={"name": name})
    return team


def find_team(name: str) -> Team:
    team = db.session.scalar(sa.select(Team).where(Team.name == name.strip()))
    if team is None:
        raise AccountError(f"no team is called {name!r}")
    return team


def join_team(
    user: User,
    team: Team,
    *,
    actor: User | None,
    job: Job | None = None,
    shift: Shift | None = None,
) -> Membership:
    """Open a membership; an open one in the same team is closed first (history)."""
    if shift is not None and shift.team_id != team.id:
        raise AccountError(f"shift {shift.name!r} belongs to another team")
    now = utcnow()
    for membership in user.memberships:
        if membership.team_id == team.id and membership.left_at is None:
            membership.left_at = now
    membership = Membership(
        team_id=team.id,
        user_id=user.id,
        job=job,
        shift_id=shift.id if shift else None,
        joined_at=now,
    )
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "team.join",
        actor=actor,
        target=team,
        detail={"user": user.username, "job": job.value if job else None},
    )
    return membership


def leave_team(membership: Membership, *, actor: User | None) -> None:
    if membership.left_at is not None:
        return
    membership.left_at = utcnow()
    # Sockets stay in the team's and its tenants' rooms until they reconnect;
    # ending the person's sessions closes them.
    end_every_session(membership.user)
    audit.record(
        "team.leave",
        actor=actor,
        target=membership.team,
        detail={"user": membership.user.username},
    )


def create_shift(
    team: Team,
    name: str,
    start_minute: int,
    end_minute: int,
    *,
    actor: User | None,
    weekdays: list[int] | None = None,
    timezone: str = "UTC",
    on_call: bool = False,
) -> Shift:
    name = name.strip()
    if not name or len(name) > 40:
        raise AccountError("a shift name has 1-40 characters")
    if not (0 <= start_minute < 1440 and 0 <= end_minute < 1440):
        raise AccountError("shift times are minutes after midnight, 0-1439")
    days = sorted(set(weekdays or [1, 2, 3, 4, 5]))
    if not days or any(day not in range(1, 8) for day in days):
        raise AccountError("weekdays are 1 (Monday) to 7 (Sunday)")
    if any(shift.name == name for shift in team.shifts):
        raise AccountError(f"team {team.name!r} already has a shift {name!r}")
    shift = Shift(
        team_id=team.id,
        name=name,
        start_minute=start_minute,
        end_minute=end_minute,
        weekdays=days,
        timezone=timezone,
        on_call=on_call,
    )
    db.session.add(shift)
    db.session.flush()
    audit.record("shift.create", actor=actor, target=team, detail={"shift": name})
    return shift


def create_tenant(
    slug: str,
    name: str,
    *,
    actor: User | None,
    noise_profile: NoiseProfile = NoiseProfile.OFFICE,
    retention_days: int = 730,
    live: bool = False,
) -> Tenant:
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise AccountError(
            "a tenant slug is 2-40 characters: lowercase letters, digits and '-'"
        )
    if not name.strip():
        raise AccountError("the tenant needs a name")
    if retention_days <= 0:
        raise AccountError("retention must be at least one day")
    if db.session.scalar(sa.select(Tenant.id).where(Tenant.slug == slug)):
        raise AccountError(f"the tenant {slug!r} exists already")
    tenant = Tenant(
        slug=slug,
        name=name.strip()[:120],
        noise_profile=noise_profile,
        retention_days=retention_days,
        live=live,
    )
    db.session.add(tenant)
    db.session.flush()
    audit.record("tenant.create", actor=actor, tenant_id=tenant.id, target=tenant)
    return tenant


def assign_tenant(
    team: Team, tenant: Tenant, *, actor: User | None, assigned: bool
) -> None:
    """Let ``team`` monitor ``tenant`` (or stop it)."""
    if assigned and tenant not in team.tenants:
        team.tenants.append(tenant)
    elif not assigned and tenant in team.tenants:
        team.tenants.remove(tenant)
    else:
        return
    audit.record(
        "team.tenant",
        actor=actor,
        tenant_id=tenant.id,
        target=team,
        detail={"tenant": tenant.slug, "assigned": assigned},
    )
