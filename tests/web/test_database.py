"""SQLite setup, write transactions, column types, migrations, append-only audit."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import AppendOnlyError, AuditEntry, Tenant
from tests.web.conftest import make_tenant


def test_every_connection_gets_wal_foreign_keys_and_a_busy_timeout(ctx):
    for _ in range(3):
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_foreign_keys_are_enforced(ctx):
    with pytest.raises(sa.exc.IntegrityError), write_transaction():
        db.session.execute(
            sa.text(
                "INSERT INTO memberships (team_id, user_id, joined_at) "
                "VALUES (999, 999, '2024-01-01 00:00:00')"
            )
        )


def test_write_transaction_takes_the_write_lock_at_begin(ctx, app):
    """BEGIN IMMEDIATE: a second writer is refused while the block runs, even before
    the block has written anything."""
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    with write_transaction():
        db.session.scalar(sa.select(sa.func.count(Tenant.id)))  # a read only
        other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_reads_do_not_take_the_write_lock(ctx, app):
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    db.session.scalar(sa.select(sa.func.count(Tenant.id)))
    assert db.session().in_transaction()
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_failing_write_transaction_leaves_nothing_behind(ctx):
    with pytest.raises(RuntimeError), write_transaction():
        make_tenant("half-done")
        raise RuntimeError("boom")
    assert (
        db.session.scalar(sa.select(Tenant).where(Tenant.slug == "half-done")) is None
    )


def test_datetimes_come_back_aware_utc_and_naive_ones_are_refused(ctx):
    tenant = make_tenant("clocky")
    db.session.expire_all()
    stored = db.session.get(Tenant, tenant.id)
    assert stored.created_at.tzinfo is UTC
    stored.created_at = datetime(2024, 1, 1, 12, 0)  # naive
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_audit_rows_cannot_be_changed_through_the_orm(ctx):
    with write_transaction():
        entry = AuditEntry(actor_name="x", action="test")
        db.session.add(entry)
    entry.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entries SET action = 'rewritten'", "DELETE FROM audit_entries"],
)
def test_audit_rows_cannot_be_changed_in_sql_either(ctx, statement):
    with write_transaction():
        db.session.add(AuditEntry(actor_name="x", action="test"))
    with pytest.raises(sa.exc.IntegrityError, match="append-only"), write_transaction():
        db.session.execute(sa.text(statement))
    assert db.session.scalar(sa.select(AuditEntry.action)) == "test"


def test_migrations_build_exactly_the_models_schema(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            assert compare_metadata(context, db.metadata) == []
            triggers = (
                connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                )
                .scalars()
                .all()
            )
        assert set(triggers) == {"audit_entries_no_update", "audit_entries_no_delete"}
        upgrade()  # a second run is a no-op
        db.engine.dispose()
