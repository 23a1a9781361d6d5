"""The event store: schema semantics, batch inserts, labels, retention, errors."""

from __future__ import annotations

import orjson
import pytest

from siem.fields import GENERATED_FIELDS, field_sql
from siem.store import DuplicateEventError, EventStore, StoreError
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


@pytest.fixture
def store(tmp_path):
    opened = EventStore.open(f"sqlite:///{tmp_path / 'siem.db'}")
    yield opened
    opened.close()


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
    assert scalar(store, "SELECT count(*) FROM events_fts") == 25


def test_text_columns_compare_case_insensitively(store):
    store.insert([event("a", Image=r"C:\Windows\System32\CMD.EXE")])
    assert (
        scalar(
            store,
            "SELECT count(*) FROM events WHERE Image = ?",
            r"c:\windows\system32\cmd.exe",
        )
        == 1
    )


def test_integer_columns_equal_numbers_stored_as_json_strings(store):
    store.insert([event("a", LogonType="3"), event("b", LogonType=3)])
    assert scalar(store, "SELECT count(*) FROM events WHERE LogonType = 3") == 2


def test_fields_without_a_column_are_read_from_json(store):
    store.insert([event("a", userIdentity={"type": "Root"}, **{"a.b": "flat"})])
    nested = field_sql("userIdentity.type")
    flat = field_sql("a.b")
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
    match = "SELECT count(*) FROM events_fts WHERE events_fts MATCH ?"
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
    assert (
        scalar(store, "SELECT count(*) FROM events WHERE CommandLine REGEXP 'who'") == 0
    )
    assert (
        scalar(store, "SELECT count(*) FROM events WHERE CommandLine REGEXP '(?i)who'")
        == 1
    )


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
        ("postgresql://localhost/siem", "only sqlite"),
        ("not a url", "not a database URL"),
        ("sqlite:////nonexistent-folder/x/siem.db", "folder does not exist"),
    ],
)
def test_unusable_urls_are_refused_clearly(url, message):
    with pytest.raises(StoreError, match=message):
        EventStore.open(url)


def test_an_in_memory_store_works_for_scratch_use():
    scratch = EventStore.open("sqlite://")
    scratch.insert([event("a")])
    assert scratch.count() == 1
    scratch.close()
