"""The SIEM on a real PostgreSQL: rule pack, SigmaHQ regression pairs, plans, timeouts.

The bundled rule tests and the SigmaHQ regression pairs run on PostgreSQL and must
give exactly what they give on SQLite; the search statements must be served by the
indexes built for them, and a search running past its timeout is stopped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siem.detector import retro_hunt
from siem.importers import import_file
from siem.regress import FORMATS, expected_count, find_pairs, run_regression
from siem.rules import (
    _samples,
    _test_files,
    load_pack,
    pack_files,
    rules_dir,
    run_pack_tests,
)
from siem.search import SearchError
from siem.search.execute import _reading, _run
from siem.search.translate import compile_query
from siem.sigma import for_dialect, load_rules
from siem.store import EventStore
from tests.conftest import REALWORLD
from tests.unit.siem.conftest import fresh_store_url, postgres_stores  # noqa: F401

PAIRS = REALWORLD / "sigma-regression"


@pytest.fixture(scope="module")
def store(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[EventStore]:
    """One PostgreSQL store, emptied by :func:`emptied` before each use."""
    folder = tmp_path_factory.mktemp("pg")
    with fresh_store_url(request, "postgresql", folder) as url:
        opened = EventStore.open(url)
        yield opened
        opened.close()


def emptied(store: EventStore) -> EventStore:
    with store.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events")
    return store


def test_the_bundled_rule_tests_pass_on_postgresql_as_on_sqlite(store):
    expected = {(o.rule, o.kind, o.index): o.matched for o in run_pack_tests()}
    rules = {r.name: for_dialect(r, "postgresql") for r in load_pack() if r.name}
    got = {}
    for name, path in sorted(_test_files(rules_dir()).items()):
        samples = _samples(path)
        span = emptied(store).insert(event for _, _, event in samples)
        rule = rules[name]
        matched = set(retro_hunt(store, [rule]).matches.get(rule.id, []))
        for offset, (kind, index, _) in enumerate(samples):
            got[(name, kind, index)] = span.first + offset in matched
    assert got == expected
    wrong = [key for key, hit in got.items() if hit != (key[1] == "positive")]
    assert not wrong


@pytest.fixture(scope="module")
def sqlite_verdicts() -> dict[tuple[str, str], int]:
    return {(r.name, r.kind): r.matched for r in run_regression(PAIRS)}


def test_sigmahq_regression_pairs_match_the_same_events_on_postgresql(
    store, sqlite_verdicts
):
    got: dict[tuple[str, str], int] = {}
    agree = 0
    for folder in find_pairs(PAIRS):
        loaded = load_rules([folder / "rule.yml"], dialect="postgresql")
        assert not loaded.failures, loaded.failures
        (rule,) = loaded.rules
        for kind, name in FORMATS.items():
            if not (folder / name).is_file():
                continue
            import_file(emptied(store), folder / name)
            matched = len(retro_hunt(store, [rule]).matches.get(rule.id, []))
            got[(folder.name, kind)] = matched
            agree += matched >= max(expected_count(folder) or 1, 1)
    assert got == sqlite_verdicts
    assert agree == len(got)


def explain(store: EventStore, sql: str, params: list) -> str:
    with store.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {sql}", tuple(params)).all()
    return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize(
    "query, index",
    [
        ("host:WS-01", "ix_events_tenant_host_ts"),
        ("Image:C\\:\\\\Windows\\\\cmd.exe", "ix_events_Image"),
        ("mimikatz", "ix_events_raw_trgm"),
        ("*sekurlsa*", "ix_events_raw_trgm"),
    ],
)
def test_searches_are_served_by_their_indexes(store, query, index):
    condition = compile_query(query, "postgresql")
    # the tenant's own index is a candidate for every search: left out here
    scope = "tenant = ? AND " if index.startswith("ix_events_tenant") else ""
    params = ["blue", *condition.params] if scope else condition.params
    sql = f"SELECT id FROM events WHERE {scope}{condition.sql}"  # noqa: S608
    assert index.lower() in explain(store, sql, params)


def test_a_search_statement_past_its_timeout_is_stopped(store):
    with (
        pytest.raises(SearchError, match="took too long"),
        _reading(store, 0.05) as conn,
    ):
        _run(conn, "SELECT pg_sleep(2)", [])


def test_the_rule_pack_converts_completely_for_postgresql():
    loaded = load_rules(pack_files(), dialect="postgresql")
    assert not loaded.failures
    assert all(rule.dialect == "postgresql" for rule in loaded.rules)
