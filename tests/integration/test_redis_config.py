"""Configuration for several processes with Redis: the secret key must be explicit,
and login rate limits are counted once for all web processes, in Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from socdrill import create_app
from socdrill.config import ConfigError
from socdrill.extensions import db
from tests.web.conftest import FAST_HASH, Browser

pytestmark = pytest.mark.integration


def test_a_redis_url_means_several_processes_and_needs_an_explicit_key(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="REDIS_URL is set.*SECRET_KEY"):
        create_app()
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.setenv("SOCDRILL_SECRET_KEY", "changeme")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SOCDRILL_SECRET_KEY", "k" * 48)
    app = create_app()
    assert app.config["PRODUCTION"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-socdrill_session"


def test_the_refusal_names_every_reason_for_several_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SOCDRILL_WEB_PROCESSES", "3")
    monkeypatch.setenv(
        "SOCDRILL_DATABASE_URL", "postgresql+psycopg://socdrill@127.0.0.1/socdrill"
    )
    with pytest.raises(ConfigError) as refused:
        create_app()
    message = str(refused.value)
    assert "SOCDRILL_WEB_PROCESSES is 3" in message
    assert "SOCDRILL_REDIS_URL is set" in message
    assert "SOCDRILL_DATABASE_URL is not SQLite" in message


def test_one_embedded_process_still_generates_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app()
    assert app.config["PRODUCTION"] is False
    assert (tmp_path / "secret_key").exists()


def web_process(instance: Path, redis_url: str, monkeypatch) -> Flask:
    """What one gunicorn process builds: its own app, the shared Redis."""
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(instance))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "REDIS_URL": redis_url,
            "LOGIN_LIMIT_PER_IP": "3 per 5 minutes",
        }
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def two_web_processes(tmp_path, redis_url, monkeypatch) -> Iterator[list[Flask]]:
    apps = [web_process(tmp_path / name, redis_url, monkeypatch) for name in ("a", "b")]
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_login_limits_are_shared_by_every_web_process_through_redis(
    two_web_processes, redis_server
):
    first, second = (Browser(app.test_client()) for app in two_web_processes)
    assert first.login("nobody", "wrong password, long enough").status_code == 401
    assert first.login("nobody", "wrong password, long enough").status_code == 401
    assert second.login("nobody", "wrong password, long enough").status_code == 401
    # The fourth attempt from this address is refused, whichever process gets it.
    assert second.login("nobody", "wrong password, long enough").status_code == 429
    with redis_server.client() as client:
        assert client.dbsize() > 0
