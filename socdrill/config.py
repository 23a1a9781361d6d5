"""Configuration: defaults → instance/config.py → SOCDRILL_* env → test mapping.

Settings are parsed once, here, by small typed helpers, so the rest of the code reads
plain typed values from ``app.config``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "SOCDRILL_"

# Keys people copy from tutorials; production refuses them as secret keys.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "dev", "secret", "changeme", "change-me", "change_me", "development"}
)
MIN_PRODUCTION_SECRET_LENGTH = 32
# Individual-level review data is kept 1 to 120 months after ENDEX (SCORING.md HR
# rule 7: 24 by default); keeping it for ever is not an option.
RETENTION_MONTHS_RANGE = (1, 120)


class ConfigError(RuntimeError):
    """A configuration value is missing or wrong; the message says how to fix it."""


def parse_bool(value: str) -> bool:
    """Read a boolean the way operators write it in environment files."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {value!r}")


# Settings whose environment value is not a plain string.
TYPED_SETTINGS: dict[str, Callable[[str], Any]] = {
    "WEB_PROCESSES": int,
    "PROXY_FIX_HOPS": int,
    "SESSION_ABSOLUTE_SECONDS": int,
    "SESSION_IDLE_SECONDS": int,
    "SESSION_IDLE_SECONDS_HR": int,
    "DEBUG": parse_bool,
    "SESSION_COOKIE_SECURE": parse_bool,
}


def instance_dir() -> Path:
    """The instance folder: databases, generated secret key, local config.py."""
    return Path(os.environ.get("SOCDRILL_INSTANCE", "instance")).resolve()


def defaults(folder: Path) -> dict[str, Any]:
    """Embedded-mode defaults: SQLite files in the instance folder, one process."""
    root = Path(__file__).resolve().parent.parent
    return {
        "INSTANCE": str(folder),
        "ENV": "embedded",
        "DATABASE_URL": f"sqlite:///{folder / 'socdrill.db'}",
        "SIEM_URL": f"sqlite:///{folder / 'siem.db'}",
        "REDIS_URL": None,
        "WEB_PROCESSES": 1,
        "PROXY_FIX_HOPS": 0,
        "SCENARIOS_DIR": str(root / "scenarios"),
        "MIGRATIONS_DIR": str(root / "migrations"),
        "PASSWORD_HASH_METHOD": "scrypt",
        "LOGIN_LIMIT_PER_ACCOUNT": "10 per 5 minutes",
        "LOGIN_LIMIT_PER_IP": "30 per 5 minutes",
        "SESSION_ABSOLUTE_SECONDS": 12 * 3600,
        # A session unused this long ends; HR reviewers read people's scores, so
        # theirs ends sooner (ASVS 7.3.1).
        "SESSION_IDLE_SECONDS": 2 * 3600,
        "SESSION_IDLE_SECONDS_HR": 30 * 60,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "socdrill_session",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SCENARIO_MAX_BYTES": 512 * 1024,
        # The token is bound to the session; a clock-based expiry would break
        # long exercise pages without adding protection.
        "WTF_CSRF_TIME_LIMIT": None,
        # CSRF is checked by our own request guard, after it knows whether the
        # request authenticates with a bearer token (socdrill/auth/guard.py).
        "WTF_CSRF_CHECK_DEFAULT": False,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # The engine scores each ended exercise once, shortly after ENDEX.
        "SCORE_AT_ENDEX": True,
        "RETENTION_INDIVIDUAL_MONTHS": 24,
    }


def _environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in os.environ.items():
        if not key.startswith(ENV_PREFIX) or key == "SOCDRILL_INSTANCE":
            continue
        name = key[len(ENV_PREFIX) :]
        parse = TYPED_SETTINGS.get(name, str)
        try:
            values[name] = parse(raw)
        except ValueError as error:
            raise ConfigError(f"{key}: {error}") from None
    return values


def several_processes(config: dict[str, Any]) -> list[str]:
    """Why this configuration runs as several processes (empty for embedded mode).

    Several web processes, a Redis message queue between them, or a server database
    all mean processes (perhaps on several machines) that must share one secret key:
    a key generated into one instance folder would sign sessions the others refuse.
    """
    reasons = []
    if int(config.get("WEB_PROCESSES") or 1) > 1:
        reasons.append(f"SOCDRILL_WEB_PROCESSES is {config['WEB_PROCESSES']}")
    if config.get("REDIS_URL"):
        reasons.append("SOCDRILL_REDIS_URL is set")
    if not str(config.get("DATABASE_URL") or "sqlite").startswith("sqlite"):
        reasons.append("SOCDRILL_DATABASE_URL is not SQLite")
    return reasons


def is_production(config: dict[str, Any]) -> bool:
    """Production: declared so, or several processes that must share one key."""
    if str(config.get("ENV", "")).lower() == "production":
        return True
    if config.get("DEBUG") or config.get("TESTING"):
        return False
    return bool(several_processes(config))


def _generated_secret_key(folder: Path) -> str:
    """Embedded mode keeps a generated key in the instance folder (never a default)."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _check_production(config: dict[str, Any]) -> None:
    key = str(config.get("SECRET_KEY") or "")
    if key.strip().lower() in KNOWN_DEFAULT_SECRETS:
        reasons = several_processes(config)
        why = f" ({'; '.join(reasons)}: several processes)" if reasons else ""
        raise ConfigError(
            f"production{why} needs SOCDRILL_SECRET_KEY: set it to a random value "
            "shared by every process (for example the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    if len(key) < MIN_PRODUCTION_SECRET_LENGTH:
        raise ConfigError(
            f"SOCDRILL_SECRET_KEY is {len(key)} characters; production needs at "
            f"least {MIN_PRODUCTION_SECRET_LENGTH} random characters"
        )
    if config.get("DEBUG"):
        raise ConfigError("production refuses DEBUG; unset SOCDRILL_DEBUG")


def _check_review(config: dict[str, Any]) -> None:
    """Parse the review settings in place; a wrong value names the variable."""
    raw = config.get("SCORE_AT_ENDEX", True)
    try:
        config["SCORE_AT_ENDEX"] = (
            raw if isinstance(raw, bool) else parse_bool(str(raw))
        )
    except ValueError as error:
        raise ConfigError(f"{ENV_PREFIX}SCORE_AT_ENDEX: {error}") from None
    raw = config.get("RETENTION_INDIVIDUAL_MONTHS", 24)
    low, high = RETENTION_MONTHS_RANGE
    text = str(raw).strip()
    whole = text.isascii() and text.isdecimal()
    if isinstance(raw, bool) or not whole or not low <= int(text) <= high:
        raise ConfigError(
            f"{ENV_PREFIX}RETENTION_INDIVIDUAL_MONTHS must be a whole number of "
            f"months from {low} to {high} (got {raw!r})"
        )
    config["RETENTION_INDIVIDUAL_MONTHS"] = int(text)


def load_config(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` in precedence order and check it is safe to run."""
    folder = instance_dir()
    app.instance_path = str(folder)
    # The embedded databases and the generated key live here.
    folder.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(defaults(folder))
    before = dict(app.config)
    app.config.from_pyfile(str(folder / "config.py"), silent=True)
    environment = _environment()
    app.config.update(environment)
    if test_config:
        app.config.update(test_config)
    explicit = {k for k, v in app.config.items() if k not in before or before[k] != v}
    explicit |= set(environment) | set(test_config or {})

    _check_review(app.config)
    production = is_production(app.config)
    app.config["PRODUCTION"] = production
    if production:
        _check_production(app.config)
        if "SESSION_COOKIE_SECURE" not in explicit:
            app.config["SESSION_COOKIE_SECURE"] = True
        if app.config["SESSION_COOKIE_SECURE"]:
            # __Host- cookies are only sent over TLS to this exact host and path.
            app.config["SESSION_COOKIE_NAME"] = "__Host-socdrill_session"
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _generated_secret_key(folder)

    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not str(app.config["DATABASE_URL"]).startswith("sqlite"):
        # A server database can restart under us; test pooled connections first.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == (
        "memory://"
    ):
        # Several web processes must share their counters, or each grants its own.
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
