"""Event stores for the SIEM tests, on every backend: embedded SQLite and PostgreSQL.

``backend`` is parametrised over :data:`BACKENDS`, so a test that takes ``store``,
``store_url`` or ``new_store`` runs once per backend. PostgreSQL is the real server
of ``tests/services.py`` (started once per run on loopback); each store is a fresh
database cloned from a template that already holds the schema. Without PostgreSQL
the ``postgresql`` cases skip with the reason, and fail under CI.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from siem.store import EventStore
from tests.services import PostgresServer, postgres_server  # noqa: F401

BACKENDS = ("sqlite", "postgresql")


class PostgresStores:
    """Databases holding an empty event store, each a copy of one template."""

    TEMPLATE = "siem_store_template"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        server.drop_database(self.TEMPLATE)
        url = server.create_database(self.TEMPLATE)
        EventStore.open(url).close()  # a template must have no open connection

    def new_url(self) -> str:
        return self.server.create_database(
            f"siem_{secrets.token_hex(6)}", template=self.TEMPLATE
        )

    def drop(self, url: str) -> None:
        self.server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def postgres_stores(postgres_server: PostgresServer) -> Iterator[PostgresStores]:  # noqa: F811
    stores = PostgresStores(postgres_server)
    yield stores
    postgres_server.drop_database(PostgresStores.TEMPLATE)


@contextlib.contextmanager
def fresh_store_url(
    request: pytest.FixtureRequest, backend: str, folder: Path
) -> Iterator[str]:
    """The URL of an empty store of ``backend`` (a file in ``folder`` for SQLite),
    removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'siem-{secrets.token_hex(4)}.db'}"
        return
    stores: PostgresStores = request.getfixturevalue("postgres_stores")
    url = stores.new_url()
    try:
        yield url
    finally:
        stores.drop(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend under test."""
    return str(request.param)


@pytest.fixture
def store_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[str]:
    """URL of an empty store of the backend under test."""
    with fresh_store_url(request, backend, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    """An open, empty store of the backend under test."""
    opened = EventStore.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def new_store(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[Callable[[], EventStore]]:
    """A factory of further empty stores of the backend under test (scratch use)."""
    with contextlib.ExitStack() as stack:

        def make() -> EventStore:
            url = stack.enter_context(fresh_store_url(request, backend, tmp_path))
            store = EventStore.open(url)
            stack.callback(store.close)
            return store

        yield make
