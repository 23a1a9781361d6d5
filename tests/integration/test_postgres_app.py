"""The application database on a real PostgreSQL: migrations, the CLI, login, the
exercise lifecycle, inject firing under contention, ENDEX and the append-only audit.

Each test gets its own database. Most copy a template that ``socdrill init`` (the
migrations) built once, so they run on the migrated schema rather than on
``create_all``.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade

from socdrill import create_app
from socdrill.cli import cli
from socdrill.config import ConfigError
from socdrill.database import write_transaction
from socdrill.exercise import injects, journal, lifecycle
from socdrill.exercise.injects import FireResult
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    AuditEntry,
    Exercise,
    ExerciseEvent,
    ExerciseState,
    InjectInstance,
    InjectState,
    User,
    utcnow,
)
from tests.web.conftest import FAST_HASH, Browser, World

pytestmark = pytest.mark.integration

THREADS = 8
PASSWORD_LINE = re.compile(r"password: (\S+)")


def make_app(url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "DATABASE_URL": url,
        }
    )


@pytest.fixture(scope="module")
def migrated_template(postgres_server, tmp_path_factory) -> Iterator[str]:
    """A database that the migrations built, copied by each test."""
    name = f"migrated_{secrets.token_hex(6)}"
    url = postgres_server.create_database(name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        app = make_app(url, tmp_path_factory.mktemp("template"), monkeypatch)
        with app.app_context():
            upgrade()
            db.engine.dispose()
    yield name
    postgres_server.drop_database(name)


@pytest.fixture
def empty_app(postgres_url, tmp_path, monkeypatch) -> Iterator[Flask]:
    app = make_app(postgres_url, tmp_path, monkeypatch)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(postgres_server, migrated_template, tmp_path, monkeypatch) -> Iterator[Flask]:
    name = f"test_{secrets.token_hex(6)}"
    url = postgres_server.create_database(name, template=migrated_template)
    app = make_app(url, tmp_path, monkeypatch)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    postgres_server.drop_database(name)


@pytest.fixture
def ctx(app) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def world(ctx) -> World:
    with write_transaction():
        return World()


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(cli, list(args), catch_exceptions=False)


def concurrently(app: Flask, action: Callable[[], Any]) -> list[Any]:
    """Run ``action`` in THREADS threads released at the same instant."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[index] = action()
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def count(statement: sa.Select[Any]) -> int:
    db.session.commit()  # see what the other threads committed
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(statement.subquery())
    )


def running(world: World) -> Exercise:
    start = utcnow() - timedelta(minutes=10)
    lifecycle.schedule(world.exercise_a.id, world.manager, start)
    lifecycle.start(world.exercise_a.id, world.manager, start)
    return world.exercise_a


def test_init_migrates_postgresql_and_prints_the_first_admin(empty_app):
    result = invoke(empty_app, "init")
    assert result.exit_code == 0, result.output
    password = PASSWORD_LINE.search(result.output).group(1)
    with empty_app.app_context():
        assert db.engine.dialect.name == "postgresql"
        admin = db.session.scalar(sa.select(User))
        assert admin.username == "admin"
        db.session.remove()
    browser = Browser(empty_app.test_client())
    assert browser.login("admin", password).status_code == 302
    assert browser.get("/admin/users").status_code == 200
    again = invoke(empty_app, "init", "--if-empty")
    assert again.exit_code == 0 and "already initialised" in again.output


def test_migrations_build_exactly_the_models_schema_on_postgresql(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            assert compare_metadata(context, db.metadata) == []
            triggers = set(
                connection.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                    "AND tgrelid = 'audit_entries'::regclass"
                ).scalars()
            )
            column_types = dict(
                connection.exec_driver_sql(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'audit_entries'"
                ).all()
            )
        assert triggers == {"audit_entries_no_change", "audit_entries_no_truncate"}
        assert column_types["detail"] == "jsonb"
        assert column_types["at"] == "timestamp without time zone"
        upgrade()  # a second run is a no-op
        db.engine.dispose()


def test_demo_builds_its_tenant_team_and_accounts_on_postgresql(app):
    result = invoke(app, "demo")
    assert result.exit_code == 0, result.output
    assert "Demo accounts" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) >= 3
        db.session.remove()
    assert invoke(app, "demo", "--if-empty").exit_code == 0


def test_login_and_logout_through_the_forms(app, world):
    browser = Browser(app.test_client())
    assert browser.login("analyst", "wrong password, long enough").status_code == 401
    assert browser.login("analyst").status_code == 302
    assert browser.get("/").status_code == 200
    assert browser.post("/logout").status_code == 303
    assert browser.get("/admin/users").status_code == 302  # signed out: to login
    db.session.commit()  # see what the requests committed
    actions = db.session.scalars(
        sa.select(AuditEntry.action).order_by(AuditEntry.id)
    ).all()
    assert actions[-3:] == ["login.failure", "login.success", "logout"]


def test_the_whole_lifecycle_keeps_a_gap_free_journal(world):
    exercise_id = world.exercise_a.id
    now = utcnow()
    lifecycle.schedule(exercise_id, world.manager, now)
    lifecycle.start(exercise_id, world.manager, now)
    lifecycle.pause(exercise_id, world.manager, now + timedelta(seconds=5))
    lifecycle.resume(exercise_id, world.manager, now + timedelta(seconds=9))
    lifecycle.set_speed(exercise_id, world.manager, 4.0, now + timedelta(seconds=10))
    lifecycle.endex(exercise_id, world.manager, now + timedelta(seconds=20), "done")
    lifecycle.review(exercise_id, world.manager, now + timedelta(seconds=30))
    db.session.expire_all()
    exercise = db.session.get(Exercise, exercise_id)
    assert exercise.state == ExerciseState.REVIEWED
    assert exercise.ended_at is not None and exercise.ended_at.tzinfo is not None
    room = journal.control_room(exercise_id)
    seqs = db.session.scalars(
        sa.select(ExerciseEvent.seq)
        .where(ExerciseEvent.room == room)
        .order_by(ExerciseEvent.seq)
    ).all()
    assert seqs == list(range(1, len(seqs) + 1))
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.action.like("exercise.%"))
    ).all()
    assert {"exercise.start", "exercise.pause", "exercise.endex"} <= set(actions)


def test_eight_threads_firing_one_inject_have_exactly_one_effect(world, app):
    exercise = running(world)
    injects.plan_injects(exercise.id, {"stage-1/phish": 0.0})
    exercise_id = exercise.id

    def effect(instance: InjectInstance) -> None:
        db.session.add(
            Activity(
                exercise_id=instance.exercise_id,
                kind="inject.effect",
                target_id=instance.inject_key,
            )
        )

    results = concurrently(
        app,
        lambda: injects.fire_inject(exercise_id, "stage-1/phish", utcnow(), effect),
    )
    assert sorted(results) == sorted(
        [FireResult.FIRED] + [FireResult.ALREADY_HANDLED] * (THREADS - 1)
    )
    assert count(sa.select(Activity).where(Activity.kind == "inject.effect")) == 1
    assert (
        count(sa.select(ExerciseEvent).where(ExerciseEvent.kind == "inject.fired")) == 1
    )


def test_eight_simultaneous_endex_end_the_exercise_once(world, app):
    exercise = running(world)
    injects.plan_injects(exercise.id, {"later": 3600.0})
    exercise_id, manager_id = exercise.id, world.manager.id

    def end() -> bool:
        manager = db.session.get(User, manager_id)
        return lifecycle.endex(exercise_id, manager, utcnow(), "stop").changed

    assert sorted(concurrently(app, end)) == [False] * (THREADS - 1) + [True]
    assert (
        count(sa.select(AuditEntry).where(AuditEntry.action == "exercise.endex")) == 1
    )
    assert (
        count(
            sa.select(InjectInstance).where(
                InjectInstance.state == InjectState.CANCELLED
            )
        )
        == 1
    )
    again = lifecycle.endex(exercise_id, None, utcnow(), actor_name="cli")
    assert not again.changed
    assert (
        count(sa.select(AuditEntry).where(AuditEntry.action == "exercise.endex")) == 1
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'rewritten'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
    ],
)
def test_audit_rows_cannot_be_changed_in_sql_on_postgresql(ctx, statement):
    with write_transaction():
        db.session.add(AuditEntry(actor_name="x", action="test"))
    with pytest.raises(sa.exc.IntegrityError, match="append-only"), write_transaction():
        db.session.execute(sa.text(statement))
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["test"]


def test_a_failing_write_transaction_leaves_nothing_behind(world):
    with pytest.raises(RuntimeError), write_transaction():
        db.session.add(AuditEntry(actor_name="x", action="half-done"))
        db.session.flush()
        raise RuntimeError("boom")
    assert (
        db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "half-done"))
        is None
    )


def test_string_lengths_are_enforced_by_postgresql(ctx):
    with pytest.raises(sa.exc.DataError), write_transaction():
        db.session.execute(
            sa.text(
                "INSERT INTO teams (name, description, created_at) "
                "VALUES (:name, '', now())"
            ),
            {"name": "x" * 81},
        )


def test_a_postgresql_database_means_several_processes_and_needs_a_key(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    monkeypatch.setenv(
        "SOCDRILL_DATABASE_URL", "postgresql+psycopg://socdrill@127.0.0.1/socdrill"
    )
    with pytest.raises(ConfigError, match="DATABASE_URL is not SQLite.*SECRET_KEY"):
        create_app()
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.setenv("SOCDRILL_SECRET_KEY", secrets.token_hex(32))
    app = create_app()
    assert app.config["PRODUCTION"] is True
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
