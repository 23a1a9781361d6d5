"""Login, logout, password change and API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, redirect, render_template, request, url_for
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill import audit
from socdrill.auth import bp
from socdrill.auth.forms import LoginForm, PasswordChangeForm, TokenForm
from socdrill.auth.passwords import (
    PasswordRejected,
    check_new_password,
    hash_password,
    is_blank,
    verify_password,
)
from socdrill.auth.sessions import end_every_session, end_this_session, start_session
from socdrill.auth.tokens import issue_token, revoke_all
from socdrill.database import write_transaction
from socdrill.extensions import db, limiter
from socdrill.models import ApiToken, User, utcnow
from socdrill.responses import done, is_safe_next


def _user_row(user_id: int) -> User:
    """Re-read the account inside a write transaction (it may be gone by now)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(401)
    return user


def normalise_username(raw: str | None) -> str:
    return (raw or "").strip().lower()[:64]


def login_account_key() -> str:
    """Rate-limit key per account, whatever address the attempts come from."""
    return "login-account:" + normalise_username(request.form.get("username"))


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _audit_limited(limit: RequestLimit) -> None:
    """A refused guess is a security event too: one audit row per 429."""
    username = normalise_username(request.form.get("username"))
    with write_transaction():
        audit.record(
            "login.limited",
            actor_name=username.encode("unicode_escape").decode()[:80] or "-",
            detail={"limit": str(limit.limit)},
        )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _account_limit,
    key_func=login_account_key,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_audit_limited,
)
@limiter.limit(
    _ip_limit, key_func=get_remote_address, methods=["POST"], on_breach=_audit_limited
)
def login() -> Response | str | tuple[str, int]:
    """Sign in with username and password."""
    form = LoginForm()
    target = request.args.get("next")
    if request.method != "POST":  # GET, and HEAD (which must change nothing)
        return render_template("auth/login.html", form=form, next=target)

    username = normalise_username(form.username.data)
    password = form.password.data or ""
    # Blank credentials are refused before any lookup (no backend ever sees them).
    user = None
    accepted = False
    if username and not is_blank(password):
        user = db.session.scalar(sa.select(User).where(User.username == username))
        # An unknown user still costs one hash check, so timing reveals nothing.
        accepted = verify_password(user.password_hash if user else None, password)
        accepted = accepted and user is not None and user.active
    if not accepted or user is None:
        with write_transaction():
            audit.record(
                "login.failure",
                actor_name=username.encode("unicode_escape").decode()[:80] or "-",
                detail={"reason": "blank" if is_blank(password) else "credentials"},
            )
        form.password.data = ""
        return (
            render_template(
                "auth/login.html",
                form=form,
                next=target,
                error="Wrong username or password.",
            ),
            401,
        )

    with write_transaction():
        user = _user_row(user.id)
        user.last_login_at = utcnow()
        audit.record("login.success", actor=user)
    start_session(user)
    return redirect(target if is_safe_next(target) else url_for("main.dashboard"))


@bp.post("/logout")
def logout() -> Response:
    """Sign out here and everywhere: the session nonce changes."""
    with write_transaction():
        user = db.session.get(User, current_user.id)
        if user is not None:
            end_every_session(user)
            audit.record("logout", actor=user)
    end_this_session()
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> Response | str | tuple[str, int]:
    """Change your password; every other session and API token ends."""
    form = PasswordChangeForm()
    if request.method != "POST":
        return render_template("auth/password.html", form=form)
    error = None
    current = form.current_password.data or ""
    new = form.new_password.data or ""
    if is_blank(current) or not verify_password(current_user.password_hash, current):
        error = "The current password is wrong."
    elif not form.validate():
        error = "; ".join(form.confirm.errors) or "Check the form."
    else:
        try:
            check_new_password(new, current_user.username)
        except PasswordRejected as rejected:
            error = f"New password refused: {rejected}."
    if error:
        return render_template("auth/password.html", form=form, error=error), 400
    with write_transaction():
        user = _user_row(current_user.id)
        user.password_hash = hash_password(new)
        user.password_changed_at = utcnow()
        end_every_session(user)
        revoked = revoke_all(user)
        audit.record("password.change", actor=user, detail={"revoked_tokens": revoked})
    start_session(user)
    return done(
        "Password changed. Other sessions and API tokens have ended.",
        url_for("main.dashboard"),
    )


def _own_tokens() -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == current_user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


@bp.get("/account/tokens")
def tokens() -> str:
    """Your API tokens (the secrets themselves are never shown again)."""
    return render_template("auth/tokens.html", form=TokenForm(), tokens=_own_tokens())


@bp.post("/account/tokens")
def token_create() -> str | tuple[str, int]:
    """Create a token and show its secret once."""
    form = TokenForm()
    if not form.validate():
        return render_template(
            "auth/tokens.html",
            form=form,
            tokens=_own_tokens(),
            error="Give the token a name (at most 80 characters).",
        ), 400
    with write_transaction():
        user = _user_row(current_user.id)
        token, secret = issue_token(user, form.name.data or "")
        db.session.flush()
        audit.record(
            "token.create", actor=user, target=token, detail={"name": token.name}
        )
    return render_template(
        "auth/tokens.html", form=TokenForm(), tokens=_own_tokens(), new_secret=secret
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int) -> Response:
    """Revoke one of your tokens at once."""
    with write_transaction():
        token = db.session.get(ApiToken, token_id)
        if token is None or token.user_id != current_user.id:
            abort(404)
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record("token.revoke", actor=token.user, target=token)
    return done("Token revoked.", url_for("auth.tokens"))
