"""Search input is hostile by default: injection, huge or deep queries, any text.

Every attempt must end as results or a SearchError, and leave the store exactly as it
was: same rows, same labels, same schema.
"""

from __future__ import annotations

import string

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siem.search import SearchError, histogram, search, top_values
from siem.search.translate import MAX_DEPTH, MAX_QUERY_LENGTH, MAX_TERMS
from siem.store import EventStore
from simulator.events import Event, Label, parse_iso
from tests.unit.siem.conftest import BACKENDS, fresh_store_url

T0 = parse_iso("2026-03-01T08:00:00Z")
TENANT = "blue"
PAYLOAD = "x' OR '1'='1'; DROP TABLE events; --"


def _events(count: int) -> list[Event]:
    out = []
    for i in range(count):
        fields = {
            "EventID": 1 if i % 2 else 4624,
            "Image": f"C:\\Windows\\System32\\tool{i % 7}.exe",
            "CommandLine": PAYLOAD if i == 3 else f"tool{i % 7}.exe --run {i}",
            "User": "CORP\\alice" if i % 3 else "CORP\\bob",
        }
        out.append(
            Event(
                uid=f"ev-{i}",
                ts=T0 + i,
                sensor="sysmon",
                host=f"WS-{i % 5:02d}",
                product="windows",
                category="process_creation",
                service=None,
                fields=fields,
                raw=orjson.dumps(fields).decode(),
            )
        )
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("siem")
    with fresh_store_url(request, request.param, folder) as url:
        store = EventStore.open(url)
        store.insert(_events(300), tenant=TENANT)
        red = _events(1)[0]
        red.uid = "red-0"
        store.insert([red], tenant="red")
        store.insert_labels([Label("ev-3", "demo", "execution", "T1059")])
        yield store
        store.close()
    store.close()


#: The schema and row counts, per backend: what no search may change.
SNAPSHOT = {
    "sqlite": (
        "SELECT type, name, sql FROM sqlite_master ORDER BY name",
        "SELECT count(*) FROM events_fts",
    ),
    "postgresql": (
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, column_name",
        "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()",
    ),
}


def snapshot(store: EventStore) -> tuple:
    schema_sql, index_sql = SNAPSHOT[store.dialect]
    with store.connect() as conn:
        schema = conn.exec_driver_sql(schema_sql).all()
        events = conn.exec_driver_sql("SELECT count(*), max(id) FROM events").one()
        labels = conn.exec_driver_sql("SELECT count(*) FROM labels").scalar()
        index = conn.exec_driver_sql(index_sql).scalar()
    return tuple(schema), tuple(events), labels, index


def run_everything(store: EventStore, query: str) -> None:
    """Search, histogram and pivot with ``query``; SearchError is an allowed answer."""
    for call in (
        lambda: search(store, query, tenant=TENANT),
        lambda: histogram(store, query, tenant=TENANT, buckets=10),
        lambda: top_values(store, query, "host", tenant=TENANT),
    ):
        try:
            call()
        except SearchError as exc:
            assert exc.position is None or 0 <= exc.position <= len(query)


INJECTIONS = [
    PAYLOAD,
    "host:x' OR 1=1 --",
    'host:"x\\" OR 1=1 --"',
    "host:WS-01); DROP TABLE events; --",
    "host:WS-01) OR (1=1",
    'CommandLine:"\'; DELETE FROM labels; --"',
    "Image:*'||(SELECT raw FROM labels)||'*",
    "events.fields:x",
    "labels.technique:T1059",
    "_exists_:tenant",
    '_exists_:"x\') OR 1=1 --"',
    "EventID:[1 TO 5) OR 1=1 --]",
    '"\\"; DROP TABLE events; --"',
    "x:\\'\\;\\-\\-",
    "host\\):x",
    "mimikatz OR events_fts:*",
    '"a" OR "b" NEAR("c")',
    "raw:*%*",
    "raw:*_*",
    "\u202e\u0000host:x",
    "h\u0131st:x",
    "ＨＯＳＴ:x",
    "host:\U0001f600 AND \U0001f600:\U0001f600",
    ";",
    "--",
    ")",
    "' OR ''='",
    "/* comment */ host:x",
]


@pytest.mark.parametrize("query", INJECTIONS)
def test_injection_attempts_change_nothing(store, query):
    before = snapshot(store)
    run_everything(store, query)
    assert snapshot(store) == before


def test_sql_in_a_value_is_matched_literally(store):
    phrase = PAYLOAD.replace('"', '\\"')
    result = search(store, f'CommandLine:"{phrase}"', tenant=TENANT)
    assert [e["uid"] for e in result.events] == ["ev-3"]
    escaped = "".join("\\" + c if not c.isalnum() else c for c in PAYLOAD)
    result = search(store, f"CommandLine:{escaped}", tenant=TENANT)
    assert [e["uid"] for e in result.events] == ["ev-3"]


@pytest.mark.parametrize(
    "query", ["a;b:1", "x'\\):1", "a\\ b:1", "é:1", "a..b:1", "a.:1", "x" * 200 + ":1"]
)
def test_unsafe_field_names_are_refused(store, query):
    with pytest.raises(SearchError, match="not a valid field name") as caught:
        search(store, query, tenant=TENANT)
    assert caught.value.position == 0


def test_too_long_input_is_refused_at_the_limit(store):
    with pytest.raises(SearchError) as caught:
        search(store, "a" * (MAX_QUERY_LENGTH + 1), tenant=TENANT)
    assert caught.value.position == MAX_QUERY_LENGTH


def test_deep_nesting_is_refused_with_a_position(store):
    query = "(" * (MAX_DEPTH + 5) + "host:WS-01" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(SearchError, match="nested too deeply") as caught:
        search(store, query, tenant=TENANT)
    assert 0 < caught.value.position < len(query)
    shallow = "(" * 10 + "host:WS-01" + ")" * 10
    assert search(store, shallow, tenant=TENANT).total == 60


def test_long_not_chains_are_refused_not_crashing(store):
    with pytest.raises(SearchError, match="nested too deeply"):
        search(store, "NOT " * 500 + "x", tenant=TENANT)


def test_long_or_lists_work_up_to_the_term_limit(store):
    hosts = [f"WS-{i:02d}" for i in range(MAX_TERMS)]
    result = search(store, "host:(" + " OR ".join(hosts) + ")", tenant=TENANT)
    assert result.total == 300
    with pytest.raises(SearchError, match="terms"):
        search(store, " OR ".join(hosts + ["one-more"]), tenant=TENANT)


def test_a_search_that_runs_too_long_is_stopped(store):
    with pytest.raises(SearchError, match="took too long"):
        search(store, "*tool*", tenant=TENANT, timeout_s=0.0, limit=1000)
    assert search(store, "*tool*", tenant=TENANT).total == 300


# --- property tests ---------------------------------------------------------------

SYNTAX = list(':()[]{}"*?\\-+~^/<>=! ') + ["AND", "OR", "NOT", "TO", "_exists_"]
FIELDS = ["host", "Image", "EventID", "process.command_line", "a.b", "tenant", "ts"]
WORDS = ["WS-01", "4624", "tool1.exe", "*", "C:\\Windows", "2026-03-01", "'", ";"]


query_like = st.lists(
    st.one_of(
        st.sampled_from(SYNTAX),
        st.sampled_from(FIELDS),
        st.sampled_from(WORDS),
        st.text(alphabet=string.printable, max_size=4),
    ),
    max_size=12,
).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.text(max_size=200))
def test_any_text_gives_results_or_a_search_error(store, query):
    run_everything(store, query)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=query_like)
def test_query_like_text_gives_results_or_a_search_error(store, query):
    run_everything(store, query)


def test_property_runs_left_the_store_unchanged(store):
    # Runs after the property tests in file order; the fixture is module-scoped.
    with store.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 301
        assert conn.exec_driver_sql("SELECT count(*) FROM labels").scalar() == 1
