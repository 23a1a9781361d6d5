"""Configuration: defaults → instance/config.py → SOCDRILL_* env → test mapping."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "SOCDRILL_"


def instance_dir() -> Path:
    return Path(os.environ.get("SOCDRILL_INSTANCE", "instance")).resolve()


def _secret_key(folder: Path) -> str:
    """Embedded mode keeps a generated key in the instance folder (never a default)."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    folder = instance_dir()
    app.instance_path = str(folder)
    app.config.from_mapping(
        INSTANCE=str(folder),
        DATABASE_URL=f"sqlite:///{folder / 'socdrill.db'}",
        SIEM_URL=f"sqlite:///{folder / 'siem.db'}",
        REDIS_URL=None,
    )
    app.config.from_pyfile(str(folder / "config.py"), silent=True)
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX) and key != "SOCDRILL_INSTANCE":
            app.config[key[len(ENV_PREFIX) :]] = value
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(folder)
