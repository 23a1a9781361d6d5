"""Password rules, hashing (werkzeug's scrypt by default) and generation."""

from __future__ import annotations

import secrets

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 256

# The handful of passwords every guessing list starts with.
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "password1234",
        "123456789012",
        "qwertyuiop12",
        "administrator",
        "letmein12345",
        "changeme1234",
        "welcome12345",
        "socdrill1234",
        "passwordpassword",
    }
)

# Checked when no user matches, so a miss costs what a hit costs.
_DUMMY_HASHES: dict[str, str] = {}


class PasswordRejected(ValueError):
    """A new password breaks the rules; the message says which."""


def is_blank(password: str | None) -> bool:
    """Empty, whitespace-only or NUL-bearing input is never a password."""
    return not password or not password.strip() or "\x00" in password


def check_new_password(password: str, username: str = "") -> None:
    """Refuse a new password that is blank, too short, too long or well known."""
    if is_blank(password):
        raise PasswordRejected("the password must not be empty or only spaces")
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"the password may have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (username and lowered == username.lower()):
        raise PasswordRejected("this password is too easy to guess; choose another")


def hash_password(password: str) -> str:
    return generate_password_hash(
        password, method=current_app.config["PASSWORD_HASH_METHOD"]
    )


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown user) spend the same effort anyway."""
    if password_hash is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        if method not in _DUMMY_HASHES:
            _DUMMY_HASHES[method] = generate_password_hash(
                secrets.token_hex(16), method=method
            )
        check_password_hash(_DUMMY_HASHES[method], password)
        return False
    return check_password_hash(password_hash, password)


def generate_password() -> str:
    """A random password for new accounts (120 bits, URL-safe characters)."""
    return secrets.token_urlsafe(15)
