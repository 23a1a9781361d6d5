"""Route-level access control: ONE allow-table, deny by default.

Every endpoint is listed with the roles that may call it. An endpoint missing from
the table is refused for everyone, admins included, and tests/web/test_rbac.py fails
for any route nobody classified. Object-level checks (tenant scope, trusted agents,
the launch grant) come on top, in the routes and in socdrill/exercise/.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill.models import Role
from socdrill.responses import wants_json

PUBLIC = frozenset({"public"})

ADMIN = frozenset({Role.ADMIN})
CONTROL = frozenset({Role.ADMIN, Role.MANAGER})
EVERYONE = frozenset(Role)
# People who may stop an exercise: control, and trusted agents among the players.
STOPPERS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST})
WATCHERS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST, Role.OBSERVER})
PLAYERS = frozenset({Role.ANALYST, Role.LEAD})

ALLOW: dict[str, frozenset[str]] = {
    "static": PUBLIC,
    "main.index": PUBLIC,
    "main.dashboard": EVERYONE,
    # accounts
    "auth.login": PUBLIC,
    "auth.logout": EVERYONE,
    "auth.password": EVERYONE,
    "auth.tokens": EVERYONE,
    "auth.token_create": EVERYONE,
    "auth.token_revoke": EVERYONE,
    # administration
    "admin.users": ADMIN,
    "admin.user_create": ADMIN,
    "admin.user_update": ADMIN,
    "admin.teams": ADMIN,
    "admin.team_create": ADMIN,
    "admin.team": ADMIN,
    "admin.member_add": ADMIN,
    "admin.member_remove": ADMIN,
    "admin.team_tenant": ADMIN,
    "admin.shift_create": ADMIN,
    "admin.tenants": ADMIN,
    "admin.tenant_create": ADMIN,
    "admin.tenant_update": ADMIN,
    # exercise control
    "control.exercises": WATCHERS,
    "control.exercise": WATCHERS,
    "control.exercise_new": CONTROL,
    "control.schedule": CONTROL,
    "control.approve": CONTROL,
    "control.trusted_agent": CONTROL,
    "control.start": CONTROL,
    "control.pause": CONTROL,
    "control.resume": CONTROL,
    "control.speed": CONTROL,
    "control.endex": STOPPERS,
    "control.review": CONTROL,
    # the analyst console
    "console.index": PLAYERS,
    "console.emergency": EVERYONE,
    # JSON API (bearer tokens or the session)
    "api.me": EVERYONE,
    "api.exercises": WATCHERS,
    "api.exercise": WATCHERS,
    "api.exercise_events": WATCHERS,
}


def allowed(endpoint: str | None, role: Role | None) -> bool:
    """May ``role`` (``None``: anonymous) call ``endpoint``?"""
    if endpoint is None:
        return False
    roles = ALLOW.get(endpoint)
    if roles is None:
        return False
    return roles is PUBLIC or (role is not None and role in roles)


def enforce() -> Response | None:
    """Refuse the request unless the allow-table lets the caller in."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route: Flask answers 404 or 405
    roles = ALLOW.get(endpoint)
    if roles is None:
        abort(403)
    if roles is PUBLIC:
        return None
    if not current_user.is_authenticated:
        if wants_json() or request.method != "GET":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in roles:
        abort(403)
    return None
