"""The event store: schema semantics, batch inserts, labels, retention, errors.

Every test runs on each backend (``store`` comes from the SIEM conftest); where the
two spell a check differently in SQL, :data:`SQL` holds one spelling per backend.
"""

from __future__ import annotations

import orjson
import pytest

from siem.fields import GENERATED_FIELDS, field_sql
from siem.store import DuplicateEventError, EventStore, StoreError, postgres_sql
from simulator.events import Event, Label, parse_iso

T0 = parse_iso("2026-03-01T08:00:00Z")


def event(uid: str, minute: float = 0, **fields) -> Event:
    fields = {"EventID": 1, **fields}
    return Event(
        uid=uid,
        ts=T0 + minute * 60,
        sensor="sysmon",
        host="WS-01",
        product="windows",
        category="process_creation",
        service="sysmon",
        fields=fields,
        raw=orjson.dumps(fields).decode(),
    )


#: Checks whose SQL differs between the backends.
SQL = {
    "sqlite": {
        "image equals": 'SELECT count(*) FROM events WHERE "Image" = ?',
        "raw word": "SELECT count(*) FROM events_fts WHERE events_fts MATCH ?",
        "regex": 'SELECT count(*) FROM events WHERE "CommandLine" REGEXP ?',
    },
    "postgresql": {
        "image equals": 'SELECT count(*) FROM events WHERE lower("Image") = lower(?)',
        "raw word": "SELECT count(*) FROM events WHERE raw ILIKE '%' || ? || '%'",
        "regex": 'SELECT count(*) FROM events WHERE "CommandLine" ~ ?',
    },
}


def scalar(store: EventStore, sql: str, *params):
    with store.connect() as conn:
        return conn.exec_driver_sql(sql, params).scalar()


def test_insert_returns_the_range_of_ids_it_assigned(store):
    first = store.insert([event("a"), event("b")])
    second = store.insert([event("c")], tenant="blue", exercise="ex-1")
    assert (first.first, first.last) == (1, 2)
    assert (second.first, second.last) == (3, 3)
    assert store.count() == 3
    assert store.count(tenant="blue") == 1
    assert store.max_id() == 3


def test_inserting_nothing_returns_an_empty_range(store):
    span = store.insert([])
    assert span.empty
    assert store.count() == 0


def test_small_batches_still_store_every_event(store):
    span = store.insert((event(f"e{i}") for i in range(25)), batch_size=10)
    assert (span.first, span.last) == (1, 25)
    assert store.count() == 25
    if store.dialect == "sqlite":
        assert scalar(store, "SELECT count(*) FROM events_fts") == 25


def test_text_columns_compare_case_insensitively(store):
    store.insert([event("a", Image=r"C:\Windows\System32\CMD.EXE")])
    equals = SQL[store.dialect]["image equals"]
    assert scalar(store, equals, r"c:\windows\system32\cmd.exe") == 1
    assert scalar(store, equals, r"c:\windows\system32\cmd") == 0


def test_integer_columns_equal_numbers_stored_as_json_strings(store):
    store.insert([event("a", LogonType="3"), event("b", LogonType=3)])
    assert scalar(store, 'SELECT count(*) FROM events WHERE "LogonType" = 3') == 2


def test_a_value_that_is_not_a_number_never_breaks_an_insert(store):
    store.insert([event("a", LogonType="network", EventID="0x10"), event("b")])
    assert store.count() == 2
    assert scalar(store, 'SELECT count(*) FROM events WHERE "LogonType" = 3') == 0
    assert scalar(store, 'SELECT count(*) FROM events WHERE "EventID" = 1') == 1


def test_fields_without_a_column_are_read_from_json(store):
    store.insert([event("a", userIdentity={"type": "Root"}, **{"a.b": "flat"})])
    nested = field_sql("userIdentity.type", dialect=store.dialect)
    flat = field_sql("a.b", dialect=store.dialect)
    assert "userIdentity.type" not in GENERATED_FIELDS
    assert scalar(store, f"SELECT {nested} FROM events") == "Root"  # noqa: S608
    assert scalar(store, f"SELECT {flat} FROM events") == "flat"  # noqa: S608


def test_get_returns_the_event_as_inserted(store):
    original = event("a", CommandLine="whoami /all")
    original.service = None
    store.insert([original], tenant="red", exercise="x1")
    stored = store.get(1)
    assert stored is not None
    assert stored.event == original
    assert (stored.tenant, stored.exercise) == ("red", "x1")
    assert store.get(99) is None


def test_a_stored_uid_is_refused_and_its_batch_rolled_back(store):
    store.insert([event("a")])
    with pytest.raises(DuplicateEventError, match="already stored: a"):
        store.insert([event("b"), event("a")])
    assert store.count() == 1


def test_a_uid_repeated_within_one_insert_is_refused(store):
    with pytest.raises(DuplicateEventError, match="repeated"):
        store.insert([event("x"), event("x")])
    assert store.count() == 0


def test_duplicates_can_be_skipped_on_request(store):
    store.insert([event("a")])
    store.insert([event("a"), event("b")], on_duplicate="ignore")
    assert store.count() == 2


def test_fields_that_are_not_json_are_refused(store):
    bad = event("a")
    bad.fields["when"] = object()
    with pytest.raises(StoreError, match="not JSON"):
        store.insert([bad])
    assert store.count() == 0


def test_full_text_index_follows_inserts_and_purges(store):
    store.insert([event("old", 0, CommandLine="mimikatz"), event("new", 60)])
    match = SQL[store.dialect]["raw word"]
    assert scalar(store, match, "mimikatz") == 1
    assert store.purge_before(T0 + 30 * 60) == 1
    assert scalar(store, match, "mimikatz") == 0
    assert store.count() == 1


def test_ids_are_never_reused_after_a_purge(store):
    store.insert([event("a"), event("b")])
    store.purge_before(T0 + 3600)
    assert store.count() == 0
    span = store.insert([event("c")])
    assert span.first == 3


def test_labels_are_stored_apart_and_go_with_their_events(store):
    store.insert([event("a"), event("b", 120)])
    stored = store.insert_labels(
        {"a": Label("a", "ransomware", "stage-1", "T1059.001")}, exercise="x1"
    )
    assert stored == 1
    assert store.labels_for([1, 2]) == {1: True}
    store.purge_before(T0 + 60)
    assert scalar(store, "SELECT count(*) FROM labels") == 0


def test_labels_naming_unknown_events_change_nothing(store):
    store.insert([event("a")])
    labels = [Label("a", "s", "x", "T1"), Label("ghost", "s", "x", "T1")]
    with pytest.raises(StoreError, match="ghost"):
        store.insert_labels(labels)
    assert store.labels_for([1]) == {}


def test_regexp_searches_anywhere_and_ignores_missing_fields(store):
    store.insert([event("a", CommandLine="cmd /c WHOAMI"), event("b")])
    regex = SQL[store.dialect]["regex"]
    assert scalar(store, regex, "who") == 0
    assert scalar(store, regex, "(?i)who") == 1


def test_time_bounds_and_size(store):
    assert store.time_bounds() is None
    store.insert([event("a", 0), event("b", 90)])
    assert store.time_bounds() == (T0, T0 + 5400)
    assert store.size_bytes() > 0


def test_purge_accepts_iso_text(store):
    store.insert([event("a", 0), event("b", 90)])
    assert store.purge_before("2026-03-01T09:00:00Z") == 1


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://localhost/siem", "unsupported event store 'mysql'"),
        ("postgresql+asyncpg://localhost/siem", "psycopg 3"),
        ("not a url", "not a database URL"),
        ("sqlite:////nonexistent-folder/x/siem.db", "folder does not exist"),
    ],
)
def test_unusable_urls_are_refused_clearly(url, message):
    with pytest.raises(StoreError, match=message):
        EventStore.open(url)


def test_an_unreachable_server_is_named_without_its_password():
    # nothing listens on loopback port 1
    with pytest.raises(StoreError, match="cannot open the event store") as caught:
        EventStore.open("postgresql+psycopg://siem:s3cret@127.0.0.1:1/siem")
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1:1/siem" in str(caught.value)


def test_postgresql_refuses_nul_characters_and_stores_nothing(store):
    if store.dialect != "postgresql":
        assert store.insert([event("nul", CommandLine="a\x00b")]).last == 1
        return
    with pytest.raises(StoreError, match="NUL"):
        store.insert([event("ok"), event("nul", CommandLine="a\x00b")])
    with pytest.raises(StoreError, match="NUL"):
        store.insert([event("raw-nul")], tenant="t\x00")
    assert store.count() == 0


def test_an_in_memory_store_works_for_scratch_use():
    scratch = EventStore.open("sqlite://")
    scratch.insert([event("a")])
    assert scratch.count() == 1
    scratch.close()


@pytest.mark.parametrize(
    "portable, postgresql",
    [
        (
            "INSERT OR IGNORE INTO t (a) VALUES (?)",
            "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING",
        ),
        (
            "UPDATE t SET w = max(w, ?), f = min(f, ?) WHERE n = ?",
            "UPDATE t SET w = greatest(w, %s), f = least(f, %s) WHERE n = %s",
        ),
        ("SELECT max(id) FROM events NOT INDEXED", "SELECT max(id) FROM events"),
        (
            "SELECT id FROM events INDEXED BY ix_events_logsource WHERE x IS ?",
            "SELECT id FROM events WHERE x IS NOT DISTINCT FROM %s",
        ),
        (
            "SELECT 1 WHERE id IN (SELECT value FROM json_each(?))",
            "SELECT 1 WHERE id IN (SELECT CAST(value AS bigint) FROM "
            "jsonb_array_elements_text(CAST(%s AS jsonb)) AS value)",
        ),
        (
            "SELECT '100% ?', \"a?b\" -- really?\nWHERE x LIKE '%?%' AND y = ?",
            "SELECT '100%% ?', \"a?b\" -- really?\nWHERE x LIKE '%%?%%' AND y = %s",
        ),
        (
            "CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "h TEXT COLLATE NOCASE, n INTEGER) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS a (id bigint GENERATED BY DEFAULT AS IDENTITY "
            "PRIMARY KEY, h TEXT, n bigint)",
        ),
    ],
)
def test_portable_sql_reads_the_same_on_postgresql(portable, postgresql):
    assert postgres_sql(portable) == postgresql


@pytest.fixture
def sqlite_store():
    """SQLite only: its FTS5 index and query plans (PostgreSQL has neither)."""
    store = EventStore.open("sqlite://")
    yield store
    store.close()


def test_skipped_duplicates_leave_the_full_text_index_consistent(sqlite_store):
    store = sqlite_store
    store.insert([event("a", 0, CommandLine="first"), event("b", 1)])
    store.insert(
        [event("a", 0, CommandLine="first"), event("c", 2, CommandLine="third")],
        on_duplicate="ignore",
    )
    store.insert([event("d", 3, CommandLine="fourth")])
    match = SQL["sqlite"]["raw word"]
    assert [scalar(store, match, w) for w in ("first", "third", "fourth")] == [1, 1, 1]
    with store.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)"
        )
    assert store.purge_before(T0 + 2.5 * 60) == 3
    assert [scalar(store, match, w) for w in ("first", "third", "fourth")] == [0, 0, 1]


def test_a_hot_field_search_still_uses_its_index(sqlite_store):
    store = sqlite_store
    store.insert([event("a", Image=r"C:\Windows\System32\cmd.exe"), event("b")])
    with store.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + SQL["sqlite"]["image equals"],
                (r"C:\Windows\System32\cmd.exe",),
            )
        )
    assert "ix_events_Image" in plan or "ix_events_image" in plan.lower()
    assert (
        scalar(store, SQL["sqlite"]["image equals"], r"c:\windows\system32\cmd.exe")
        == 1
    )
