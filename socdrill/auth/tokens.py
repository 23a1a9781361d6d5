"""API tokens: ``sdt_`` + 256 random bits, shown once, stored as SHA-256.

The prefix lets secret scanners recognise a leaked token. A fast hash is enough:
the secret is random, so there is nothing to guess from the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from socdrill.extensions import db
from socdrill.models import ApiToken, User, utcnow

PREFIX = "sdt_"
SECRET_BYTES = 32
HINT_LENGTH = 6


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the secret to show once."""
    secret = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:80] or "token",
        hint=secret[len(PREFIX) : len(PREFIX) + HINT_LENGTH],
        token_hash=hash_token(secret),
    )
    db.session.add(token)
    return token, secret


def find_active_token(secret: str) -> ApiToken | None:
    """The live token for ``secret``: not revoked, and its user still active."""
    if not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    digest = hash_token(secret)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked or not token.user.active:
        return None
    return token


def revoke_all(user: User) -> int:
    """Revoke every live token of ``user`` (password change, disable)."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount
