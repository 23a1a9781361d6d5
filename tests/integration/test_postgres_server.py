"""The PostgreSQL test harness itself: a private server on loopback, fresh databases,
a clean stop, and a clear failure (CI) or skip (elsewhere) without the binaries."""

from __future__ import annotations

import socket

import psycopg
import pytest
import sqlalchemy as sa

from tests import services

pytestmark = pytest.mark.integration


def test_the_server_listens_on_loopback_only_and_needs_its_password(postgres_server):
    assert postgres_server.execute("SHOW listen_addresses") == [("127.0.0.1",)]
    assert postgres_server.execute("SELECT inet_server_addr()::text") == [
        ("127.0.0.1/32",)
    ]
    wrong = {**postgres_server.libpq_params(), "password": "not-the-password"}
    with pytest.raises(psycopg.OperationalError, match="password authentication"):
        psycopg.connect(**wrong, connect_timeout=5)


def test_durability_is_off_because_the_cluster_is_thrown_away(postgres_server):
    assert postgres_server.execute("SHOW fsync") == [("off",)]


def test_each_test_gets_a_fresh_empty_database_through_sqlalchemy(
    postgres_server, postgres_url
):
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            assert sa.inspect(connection).get_table_names() == []
            connection.exec_driver_sql("CREATE TABLE marker (id integer)")
            name = connection.exec_driver_sql("SELECT current_database()").scalar()
    finally:
        engine.dispose()
    assert postgres_url.startswith("postgresql+psycopg://")
    assert postgres_url.endswith(f"/{name}")
    assert name != "postgres"


def test_a_database_can_be_copied_from_a_template_and_dropped(postgres_server):
    postgres_server.create_database("harness_template")
    postgres_server.execute("CREATE TABLE kept (id integer)", "harness_template")
    postgres_server.create_database("harness_copy", template="harness_template")
    try:
        assert postgres_server.execute("SELECT count(*) FROM kept", "harness_copy") == [
            (0,)
        ]
    finally:
        postgres_server.drop_database("harness_copy")
        postgres_server.drop_database("harness_template")
    names = {
        row[0] for row in postgres_server.execute("SELECT datname FROM pg_database")
    }
    assert not names & {"harness_copy", "harness_template"}


def test_a_stopped_server_closes_its_port_and_leaves_no_folder():
    server = services.start_postgres()
    port, root = server.port, server.root
    assert server.running
    server.stop()
    server.stop()  # twice is harmless
    assert not server.running
    assert not root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_the_server_binaries_are_found_without_a_hard_coded_version():
    bindir = services.postgres_bindir()
    assert bindir is not None
    assert (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()


def test_missing_postgres_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(services, "postgres_bindir", lambda: None)
    monkeypatch.setattr(services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match=r"postgresql.*\.ci/run"):
        services.start_postgres()
    monkeypatch.setattr(services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="'postgresql'"):
        services.start_postgres()
