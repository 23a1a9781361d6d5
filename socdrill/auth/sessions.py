"""Login sessions and bearer tokens behind Flask-Login.

A session stores ``"<user id>:<session nonce>"``, the login time and when it was
last used. Rotating the user's nonce ends every session at once (logout, password
change, disable, a role change, leaving a team); the login time enforces an
absolute lifetime and the last use an idle limit (shorter for HR reviewers). A
request with an ``Authorization`` header is authenticated by its API token alone
and never by the session cookie.
"""

from __future__ import annotations

import hmac
import time

from flask import Flask, Request, current_app, g, request, session
from flask_login import login_user, logout_user

from socdrill.auth.tokens import find_active_token
from socdrill.extensions import db, login_manager
from socdrill.models import Role, User

LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
# The last-seen time is rewritten at most this often (each rewrite is a new cookie).
SEEN_RESOLUTION_SECONDS = 60


def bearer_secret(req: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if that is what it is."""
    header = req.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login's user loader: the nonce and the absolute lifetime must hold."""
    if "Authorization" in request.headers:
        return None
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_nonce.encode(), nonce.encode()):
        return None
    login_at = session.get(LOGIN_AT)
    lifetime = current_app.config["SESSION_ABSOLUTE_SECONDS"]
    now = time.time()
    if not isinstance(login_at, int | float) or now - login_at > lifetime:
        return None
    seen_at = session.get(SEEN_AT, login_at)
    if not isinstance(seen_at, int | float) or now - seen_at > idle_limit(user):
        return None
    if now - seen_at >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = now
    return user


def idle_limit(user: User) -> int:
    """Seconds a session of ``user`` may stay unused (shorter for HR reviewers)."""
    if user.role == Role.HR:
        return int(current_app.config["SESSION_IDLE_SECONDS_HR"])
    return int(current_app.config["SESSION_IDLE_SECONDS"])


def load_user_from_token(req: Request) -> User | None:
    """Flask-Login's request loader: a live API token authenticates its owner."""
    secret = bearer_secret(req)
    if secret is None:
        return None
    token = find_active_token(secret)
    if token is None:
        return None
    g.api_token_id = token.id
    return token.user


def start_session(user: User) -> None:
    """Log ``user`` in with a fresh session: nothing from before login survives,
    so a planted cookie (session fixation) or an old CSRF token is worthless."""
    session.clear()
    login_user(user)
    session[LOGIN_AT] = session[SEEN_AT] = time.time()


def end_every_session(user: User) -> None:
    """Invalidate all of ``user``'s sessions (the caller commits)."""
    user.rotate_session_nonce()


def end_this_session() -> None:
    logout_user()
    session.clear()


REQUEST_STATE = ("_login_user", "api_token_id", "csp_nonce", "csrf_token", "csrf_valid")


def reset_request_state() -> None:
    """Forget the previous request's user, token, nonce and CSRF token.

    ``g`` belongs to the application context, which a request shares when one is
    already active (tests, tools driving the app in-process); without this reset
    one request's user would leak into the next.
    """
    for name in REQUEST_STATE:
        g.pop(name, None)


def init_app(app: Flask) -> None:
    # First of all before_request hooks, so nothing sees a stale user.
    app.before_request_funcs.setdefault(None, []).insert(0, reset_request_state)
    login_manager.init_app(app)
    login_manager.user_loader(load_user_from_session)
    login_manager.request_loader(load_user_from_token)
    # Our request guard decides what an anonymous request gets (socdrill/rbac.py).
    login_manager.login_view = "auth.login"
