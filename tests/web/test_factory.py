"""The application factory and its configuration."""

from __future__ import annotations

import pytest

from socdrill import create_app
from socdrill.config import ConfigError


def test_config_from_test_mapping(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_embedded_mode_generates_and_keeps_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    assert len(first) >= 32
    assert create_app().config["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_index_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"socdrill" in response.data


def test_precedence_is_defaults_instance_file_environment_then_test_mapping(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    (tmp_path / "config.py").write_text(
        "SIEM_URL = 'sqlite:///from-file.db'\nREDIS_URL = 'redis://from-file'\n"
        "WEB_PROCESSES = 1\n"
    )
    monkeypatch.setenv("SOCDRILL_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SOCDRILL_DATABASE_URL", "sqlite:///from-env.db")
    # A Redis URL means several processes: production rules need an explicit key.
    monkeypatch.setenv("SOCDRILL_SECRET_KEY", "k" * 48)
    app = create_app({"DATABASE_URL": "sqlite:///from-test.db"})
    assert app.config["SIEM_URL"] == "sqlite:///from-file.db"
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert app.config["DATABASE_URL"] == "sqlite:///from-test.db"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///from-test.db"
    # Several processes must share rate-limit counters through Redis.
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_default_databases_live_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'socdrill.db'}"
    assert app.config["SIEM_URL"] == f"sqlite:///{tmp_path / 'siem.db'}"
    assert app.instance_path == str(tmp_path)


def test_typed_environment_values_are_parsed_and_bad_ones_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_PROXY_FIX_HOPS", "1")
    assert create_app().config["PROXY_FIX_HOPS"] == 1
    monkeypatch.setenv("SOCDRILL_WEB_PROCESSES", "many")
    with pytest.raises(ConfigError, match="SOCDRILL_WEB_PROCESSES"):
        create_app()


@pytest.mark.parametrize("key", [None, "", "changeme", "dev", "short-but-not-default"])
def test_production_refuses_a_missing_default_or_short_secret_key(
    tmp_path, monkeypatch, key
):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_ENV", "production")
    if key is not None:
        monkeypatch.setenv("SOCDRILL_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    assert not (tmp_path / "secret_key").exists()


def test_several_web_processes_count_as_production(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_WEB_PROCESSES", "4")
    with pytest.raises(ConfigError):
        create_app()


def test_production_with_a_real_key_uses_secure_host_cookies_and_hsts(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_ENV", "production")
    monkeypatch.setenv("SOCDRILL_SECRET_KEY", "k" * 48)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-socdrill_session"
    response = app.test_client().get("/", base_url="https://localhost")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "__Host-socdrill_session" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_debug(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SOCDRILL_ENV", "production")
    monkeypatch.setenv("SOCDRILL_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("SOCDRILL_DEBUG", "true")
    with pytest.raises(ConfigError, match="DEBUG"):
        create_app()
