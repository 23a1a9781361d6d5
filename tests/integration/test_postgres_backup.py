"""``socdrill backup FILE`` on both backends: a consistent, restorable copy taken
while the platform writes, and clear refusals that write nothing."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from socdrill import create_app
from socdrill.cli import cli
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import Tenant
from tests import services
from tests.web.conftest import FAST_HASH, make_tenant

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path, monkeypatch) -> Iterator[Flask]:
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-only-secret",
        "PASSWORD_HASH_METHOD": FAST_HASH,
    }
    if request.param == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app(config)
    with app.app_context():
        db.create_all()
        make_tenant("kept")
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def run_backup(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(cli, ["backup", *args])


def open_copy(path: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(path))


def restored_slugs(app: Flask, backup: Path, request: Any) -> list[str]:
    """Restore the backup into a new database and list its tenants."""
    if app.config["DATABASE_URL"].startswith("sqlite"):
        with open_copy(backup) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return [row[0] for row in copy.execute("SELECT slug FROM tenants")]
    server = request.getfixturevalue("postgres_server")
    server.create_database("restored")
    try:
        restore = subprocess.run(
            [
                str(services.postgres_bindir() / "pg_restore"),
                "--no-owner",
                f"--dbname={sa.make_url(server.url('restored')).database}",
                str(backup),
            ],
            env={
                "PGHOST": server.host,
                "PGPORT": str(server.port),
                "PGUSER": server.user,
                "PGPASSWORD": server.password,
            },
            capture_output=True,
            text=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
        return [
            row[0] for row in server.execute("SELECT slug FROM tenants", "restored")
        ]
    finally:
        server.drop_database("restored")


def test_a_backup_holds_what_was_committed_and_restores(app, tmp_path, request):
    target = tmp_path / "socdrill.backup"
    result = run_backup(app, str(target))
    assert result.exit_code == 0, result.output
    assert f"to {target}" in result.output
    assert restored_slugs(app, target, request) == ["kept"]
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_a_backup_taken_during_writes_is_consistent(app, tmp_path, request):
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with app.app_context():
            while not stop.is_set():
                with write_transaction():
                    db.session.add(
                        Tenant(slug=f"t{len(written)}", name="busy", organisation={})
                    )
                written.append(1)
            db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        result = run_backup(app, str(tmp_path / "busy.backup"))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.exit_code == 0, result.output
    slugs = restored_slugs(app, tmp_path / "busy.backup", request)
    # A snapshot: every row it holds was committed, in order, with no gap.
    busy = sorted(int(slug[1:]) for slug in slugs if slug != "kept")
    assert len(busy) >= 20
    assert busy == list(range(len(busy)))
    if app.config["DATABASE_URL"].startswith("sqlite"):
        with open_copy(tmp_path / "busy.backup") as copy:
            assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_an_existing_file_is_kept_unless_overwrite_is_given(app, tmp_path):
    target = tmp_path / "existing.backup"
    target.write_text("an older backup")
    refused = run_backup(app, str(target))
    assert refused.exit_code != 0
    assert "--overwrite" in refused.output
    assert target.read_text() == "an older backup"
    replaced = run_backup(app, str(target), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert target.read_bytes() != b"an older backup"


def test_a_missing_folder_is_refused(app, tmp_path):
    result = run_backup(app, str(tmp_path / "nowhere" / "x.backup"))
    assert result.exit_code != 0
    assert "does not exist" in result.output
    assert not (tmp_path / "nowhere").exists()


def test_the_database_file_itself_is_refused_as_target(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "test-only-secret"})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    database = tmp_path / "socdrill.db"
    before = database.read_bytes()
    result = run_backup(app, str(database), "--overwrite")
    assert result.exit_code != 0
    assert "the database itself" in result.output
    assert database.read_bytes() == before


def test_an_uninitialised_database_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'never-created.db'}",
        }
    )
    result = run_backup(app, str(tmp_path / "x.backup"))
    assert result.exit_code != 0
    assert "socdrill init" in result.output
    assert not (tmp_path / "x.backup").exists()


def test_the_siem_store_is_backed_up_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    with open_copy(tmp_path / "siem.db") as store:
        store.execute("CREATE TABLE events (uid TEXT)")
        store.execute("INSERT INTO events VALUES ('e-1')")
        store.commit()
    app = create_app({"TESTING": True, "SECRET_KEY": "test-only-secret"})
    result = run_backup(app, str(tmp_path / "siem.backup"), "--siem")
    assert result.exit_code == 0, result.output
    assert "SIEM store" in result.output
    with open_copy(tmp_path / "siem.backup") as copy:
        assert copy.execute("SELECT uid FROM events").fetchall() == [("e-1",)]
