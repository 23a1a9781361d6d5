"""The request guard: authentication method, CSRF, then the RBAC allow-table.

Requests with an ``Authorization`` header are authenticated by their API token only
and need no CSRF token (a browser cannot attach the header cross-site); every other
state-changing request must carry the session's CSRF token, JSON included (the
``X-CSRFToken`` header).
"""

from __future__ import annotations

from flask import Flask, abort, current_app, g, request, session
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill import rbac
from socdrill.extensions import csrf

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Largest id a database integer holds (SQLite and PostgreSQL bigint).
MAX_ID = 2**63 - 1
# Secrets in URLs end up in logs, histories and Referer headers.
TOKEN_QUERY_PARAMETERS = frozenset({"api_key", "apikey", "access_token", "token"})


def guard() -> Response | None:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        # Refused before anything reads it, whether or not the view reads a body.
        abort(413)
    if any(
        isinstance(value, int) and not 0 <= value <= MAX_ID
        for value in (request.view_args or {}).values()
    ):
        # No row has such an id, and the database cannot even compare it.
        abort(404)
    if TOKEN_QUERY_PARAMETERS & {key.lower() for key in request.args}:
        abort(400, "API tokens go in the Authorization header, never in the URL")
    if "Authorization" in request.headers:
        if not current_user.is_authenticated or "api_token_id" not in g:
            abort(401)
    else:
        if request.method in MUTATING_METHODS:
            csrf.protect()
        if "_user_id" in session and not current_user.is_authenticated:
            # The session was ended elsewhere (logout, password change, disable).
            session.clear()
    return rbac.enforce()


def init_app(app: Flask) -> None:
    app.before_request(guard)
