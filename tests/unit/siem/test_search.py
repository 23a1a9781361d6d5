"""Analyst search: every supported Lucene feature, against a real event store."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from siem.search import SearchError, histogram, search, top_values
from siem.store import EventStore
from simulator.events import Event, Label, parse_iso
from tests.unit.siem.conftest import BACKENDS, fresh_store_url

T0 = parse_iso("2026-03-01T08:00:00Z")
TENANT = "blue"


def _sysmon(uid: str, minute: float, host: str, image: str, cmd: str, user: str):
    fields = {
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": host,
        "Image": image,
        "CommandLine": cmd,
        "User": user,
        "ProcessId": 4242,
    }
    return Event(
        uid=uid,
        ts=T0 + minute * 60,
        sensor="sysmon",
        host=host,
        product="windows",
        category="process_creation",
        service=None,
        fields=fields,
        raw=orjson.dumps(fields).decode(),
    )


def _security(uid: str, minute: float, event_id: int, user: str, logon_type: int):
    fields = {
        "EventID": event_id,
        "Channel": "Security",
        "TargetUserName": user,
        "LogonType": logon_type,
        "IpAddress": "10.0.0.5",
    }
    return Event(
        uid=uid,
        ts=T0 + minute * 60,
        sensor="windows_security",
        host="DC-01",
        product="windows",
        category=None,
        service="security",
        fields=fields,
        raw=orjson.dumps(fields).decode(),
    )


def _event(uid: str, minute: float, sensor: str, host: str, fields: dict, raw: str):
    return Event(
        uid=uid,
        ts=T0 + minute * 60,
        sensor=sensor,
        host=host,
        product=fields.pop("_product", None),
        category=fields.pop("_category", None),
        service=fields.pop("_service", None),
        fields=fields,
        raw=raw,
    )


def corpus() -> list[Event]:
    """A small, varied day one morning: Windows, Linux, firewall, proxy, cloud."""
    return [
        _sysmon(
            "e-whoami",
            0,
            "WS-01",
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c whoami /all",
            "CORP\\alice",
        ),
        _sysmon(
            "e-mimikatz",
            1,
            "WS-02",
            "C:\\Users\\bob\\AppData\\Local\\Temp\\mimikatz.exe",
            'mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit',
            "CORP\\bob",
        ),
        _sysmon(
            "e-svc",
            2,
            "WS-01",
            "C:\\Windows\\System32\\svchost.exe",
            "svchost.exe -k netsvcs",
            "NT AUTHORITY\\svc_backup",
        ),
        _security("e-logon", 3, 4624, "alice", 3),
        _security("e-fail", 4, 4625, "admin", 10),
        _event(
            "e-ssh",
            5,
            "linux_auth",
            "web-01",
            {
                "_product": "linux",
                "_service": "auth",
                "src_ip": "203.0.113.7",
                "message": "Failed password for invalid user admin",
            },
            "Mar  1 08:05:00 web-01 sshd[1234]: Failed password for invalid user "
            "admin from 203.0.113.7 port 52222 ssh2",
        ),
        _event(
            "e-fw",
            6,
            "firewall",
            "",
            {
                "_category": "firewall",
                "src_ip": "10.0.0.5",
                "dst_ip": "198.51.100.20",
                "dst_port": 443,
                "action": "allow",
                "proxy-port": "8080",
            },
            "action=allow src=10.0.0.5 dst=198.51.100.20 dport=443",
        ),
        _event(
            "e-proxy",
            7,
            "proxy",
            "",
            {
                "_category": "proxy",
                "c-uri": "http://shop.example.test/item?id=1' OR 1=1 --",
                "cs-method": "GET",
                "sc-status": 500,
            },
            "GET http://shop.example.test/item?id=1'%20OR%201=1%20-- 500",
        ),
        _event(
            "e-cloud",
            8,
            "cloudtrail",
            "",
            {
                "_product": "aws",
                "_service": "cloudtrail",
                "eventName": "ConsoleLogin",
                "eventSource": "signin.amazonaws.com",
                "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123:root"},
            },
            '{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}',
        ),
        _sysmon(
            "e-unicode",
            9,
            "ws-ünï",
            "C:\\Windows\\System32\\cmd.exe",
            "echo 日本語 > C:\\temp\\ü.txt",
            "CORP\\zoë",
        ),
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("siem")
    with fresh_store_url(request, request.param, folder) as url:
        store = EventStore.open(url)
        store.insert(corpus(), tenant=TENANT, exercise="ex-1")
        # Another tenant's copy of the attack: must never show up for TENANT.
        other = _sysmon(
            "o-mimikatz", 1, "WS-02", "C:\\x\\mimikatz.exe", "mimikatz", "x"
        )
        store.insert([other], tenant="red")
        store.insert_labels(
            [Label("e-mimikatz", "demo", "credential-access", "T1003.001")]
        )
        yield store
        store.close()


def uids(store: EventStore, query: str, **kwargs) -> set[str]:
    result = search(store, query, tenant=TENANT, limit=100, **kwargs)
    return {event["uid"] for event in result.events}


# --- fields, values, wildcards -------------------------------------------------------


def test_field_equality_ignores_case_like_a_siem(store):
    assert uids(store, "host:ws-01") == {"e-whoami", "e-svc"}
    assert uids(store, "User:corp\\\\ALICE") == {"e-whoami"}


def test_star_and_question_mark_are_wildcards(store):
    assert uids(store, "CommandLine:*whoami*") == {"e-whoami"}
    assert uids(store, "host:WS-0?") == {"e-whoami", "e-mimikatz", "e-svc"}
    assert uids(store, "Image:*\\\\mimikatz.exe") == {"e-mimikatz"}


def test_escaped_wildcard_is_a_literal_character(store):
    assert uids(store, "CommandLine:cmd.exe\\*") == set()
    assert uids(store, "CommandLine:cmd.exe*") == {"e-whoami"}


def test_like_metacharacters_in_values_are_literal(store):
    # '_' and '%' mean "one/any character" to SQL LIKE; in a query they are text.
    assert uids(store, "User:*svc_backup") == {"e-svc"}
    assert uids(store, "User:*svc%backup") == set()


def test_substring_matches_agree_with_and_without_json_escaping(store):
    # Values holding quotes or backslashes are escaped in the JSON text; the match
    # must still find them (the JSON-text shortcut is only taken when it is safe).
    assert uids(store, 'CommandLine:"*\\"privilege::debug\\"*"') == {"e-mimikatz"}
    assert uids(store, "CommandLine:*privilege\\:\\:debug*") == {"e-mimikatz"}
    assert uids(store, "User:*\\\\bob") == {"e-mimikatz"}
    assert uids(store, "CommandLine:*日本語*") == {"e-unicode"}
    assert uids(store, "CommandLine:*LOGONPASSWORDS*") == {"e-mimikatz"}


def test_quoted_phrase_matches_the_whole_value(store):
    assert uids(store, 'CommandLine:"cmd.exe /c whoami /all"') == {"e-whoami"}
    assert uids(store, 'CommandLine:"cmd.exe /c whoami"') == set()


def test_star_in_a_phrase_is_a_wildcard_so_windows_paths_need_no_escaping(store):
    single = uids(store, 'Image:"C:\\Windows\\System32\\*"')
    doubled = uids(store, 'Image:"C:\\\\Windows\\\\System32\\\\*"')
    assert single == doubled == {"e-whoami", "e-svc", "e-unicode"}
    assert uids(store, 'CommandLine:"*sekurlsa::logonpasswords*"') == {"e-mimikatz"}


def test_escaped_path_in_a_bare_word(store):
    query = "Image:C\\:\\\\Windows\\\\System32\\\\cmd.exe"
    assert uids(store, query) == {"e-whoami", "e-unicode"}


def test_numeric_field_compares_as_a_number(store):
    assert uids(store, "EventID:4624") == {"e-logon"}
    assert uids(store, "EventID:46*") == {"e-logon", "e-fail"}


def test_json_fields_match_numbers_and_strings(store):
    assert uids(store, "dst_port:443") == {"e-fw"}
    assert uids(store, "proxy-port:8080") == {"e-fw"}
    assert uids(store, 'message:"*invalid user*"') == {"e-ssh"}


def test_nested_json_fields_are_read_with_dots(store):
    assert uids(store, "userIdentity.type:root") == {"e-cloud"}
    assert uids(store, "userIdentity.arn:*iam*") == {"e-cloud"}


def test_ecs_names_are_aliases_of_the_stored_fields(store):
    assert uids(store, "process.command_line:*whoami*") == {"e-whoami"}
    assert uids(store, "host.name:dc-01") == {"e-logon", "e-fail"}
    assert uids(store, "event.code:4625") == {"e-fail"}
    assert uids(store, "url.original:*shop.example.test*") == {"e-proxy"}


def test_logsource_and_base_columns_are_searchable(store):
    assert uids(store, "sensor:firewall") == {"e-fw"}
    assert uids(store, "service:security") == {"e-logon", "e-fail"}
    assert uids(store, "product:linux") == {"e-ssh"}
    assert uids(store, "uid:e-cloud") == {"e-cloud"}


def test_unicode_values(store):
    assert uids(store, "host:ws-ünï") == {"e-unicode"}
    assert uids(store, "CommandLine:*日本語*") == {"e-unicode"}
    assert uids(store, "日本語") == {"e-unicode"}


# --- ranges ------------------------------------------------------------------------


def test_inclusive_and_exclusive_ranges(store):
    assert uids(store, "EventID:[4624 TO 4625]") == {"e-logon", "e-fail"}
    assert uids(store, "EventID:{4624 TO 4625]") == {"e-fail"}
    assert uids(store, "EventID:[4624 TO 4625}") == {"e-logon"}


def test_open_ranges_and_comparisons(store):
    assert uids(store, "EventID:>=4625") == {"e-fail"}
    assert uids(store, "EventID:>4624") == {"e-fail"}
    assert uids(store, "LogonType:<10") == {"e-logon"}
    assert uids(store, "LogonType:<=10") == {"e-logon", "e-fail"}
    assert uids(store, "LogonType:[* TO 5]") == {"e-logon"}
    assert uids(store, "LogonType:[5 TO *]") == {"e-fail"}


def test_negative_numbers_in_ranges(store):
    assert uids(store, "LogonType:[-5 TO 5]") == {"e-logon"}


def test_numeric_ranges_on_json_numbers_and_numeric_strings(store):
    assert uids(store, "dst_port:[400 TO 500]") == {"e-fw"}
    assert uids(store, "proxy-port:>8000") == {"e-fw"}
    assert uids(store, "sc-status:>=500") == {"e-proxy"}


def test_time_ranges_on_ts(store):
    query = "ts:[2026-03-01T08:03:00Z TO 2026-03-01T08:05:00Z}"
    assert uids(store, query) == {"e-logon", "e-fail"}
    assert uids(store, "ts:>=2026-03-01T08:09:00Z") == {"e-unicode"}
    assert uids(store, "@timestamp:<2026-03-01T08:01:00Z") == {"e-whoami"}


def test_text_ranges_compare_case_free(store):
    assert uids(store, "host:[dc-01 TO dc-99]") == {"e-logon", "e-fail"}


# --- boolean logic -----------------------------------------------------------------


def test_and_or_not_and_groups(store):
    query = "(host:WS-01 OR host:WS-02) AND NOT CommandLine:*whoami*"
    assert uids(store, query) == {"e-mimikatz", "e-svc"}
    assert uids(store, "host:WS-01 OR EventID:4625") == {"e-whoami", "e-svc", "e-fail"}


def test_implicit_operator_means_and(store):
    assert uids(store, "host:WS-01 CommandLine:*svchost*") == {"e-svc"}


def test_minus_excludes_and_plus_requires(store):
    assert uids(store, "host:WS-01 -CommandLine:*whoami*") == {"e-svc"}
    assert uids(store, "+host:WS-01 +EventID:1") == {"e-whoami", "e-svc"}


def test_not_keeps_events_that_lack_the_field(store):
    # As in a SIEM, "NOT User:x" includes events with no User at all.
    found = uids(store, "NOT User:*svc_*")
    assert "e-svc" not in found
    assert {"e-whoami", "e-fw", "e-ssh"} <= found


def test_field_group_applies_one_field_to_several_values(store):
    assert uids(store, "host:(WS-02 OR DC-01)") == {"e-mimikatz", "e-logon", "e-fail"}
    assert uids(store, "EventID:(4624 OR 4625) AND NOT TargetUserName:admin") == {
        "e-logon"
    }


def test_exists_and_field_star(store):
    assert uids(store, "_exists_:LogonType") == {"e-logon", "e-fail"}
    assert uids(store, "LogonType:*") == {"e-logon", "e-fail"}
    assert uids(store, "_exists_:userIdentity.type") == {"e-cloud"}
    assert "e-fw" not in uids(store, "_exists_:host")


# --- full text ---------------------------------------------------------------------


def test_bare_word_searches_the_raw_line(store):
    assert uids(store, "mimikatz") == {"e-mimikatz"}
    assert uids(store, "MIMIKATZ") == {"e-mimikatz"}


def test_bare_phrase_searches_the_raw_line_in_order(store):
    assert uids(store, '"failed password"') == {"e-ssh"}
    assert uids(store, '"password failed"') == set()


def test_bare_prefix_and_substring(store):
    assert uids(store, "mimi*") == {"e-mimikatz"}
    assert uids(store, "*katz*") == {"e-mimikatz"}
    assert uids(store, "*ogonpass*") == {"e-mimikatz"}


def test_bare_punctuation_is_a_literal_substring(store):
    assert uids(store, '"::"') == {"e-mimikatz"}
    assert uids(store, "=") == {"e-fw", "e-proxy"}


def test_empty_query_and_star_match_everything_of_the_tenant(store):
    assert len(uids(store, "")) == len(corpus())
    assert len(uids(store, "*")) == len(corpus())


# --- scope, paging, columns --------------------------------------------------------


def test_other_tenants_are_never_visible(store):
    red = search(store, "mimikatz", tenant="red")
    assert [e["uid"] for e in red.events] == ["o-mimikatz"]
    assert uids(store, "mimikatz") == {"e-mimikatz"}
    assert search(store, "*", tenant="nobody").total == 0


def test_tenant_is_required(store):
    with pytest.raises(TypeError):
        search(store, "*")  # type: ignore[call-arg]
    with pytest.raises(SearchError, match="tenant"):
        search(store, "*", tenant=None)  # type: ignore[arg-type]


def test_results_are_newest_first_with_total_and_timing(store):
    result = search(store, "*", tenant=TENANT, limit=3)
    assert [e["uid"] for e in result.events] == ["e-unicode", "e-cloud", "e-proxy"]
    assert result.total == len(corpus()) and result.total_exact
    assert result.took_ms >= 0


def test_time_window_is_start_inclusive_end_exclusive(store):
    start = dt.datetime(2026, 3, 1, 8, 3, tzinfo=dt.UTC)
    found = uids(store, "*", start=start, end="2026-03-01T08:05:00Z")
    assert found == {"e-logon", "e-fail"}
    assert uids(store, "*", start=T0 + 9 * 60) == {"e-unicode"}


def test_offset_and_cursor_pages_cover_everything_once(store):
    seen_offset, seen_cursor = [], []
    for offset in range(0, 12, 4):
        page = search(store, "*", tenant=TENANT, limit=4, offset=offset)
        seen_offset += [e["uid"] for e in page.events]
    cursor = None
    while True:
        page = search(store, "*", tenant=TENANT, limit=4, cursor=cursor)
        seen_cursor += [e["uid"] for e in page.events]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen_offset == seen_cursor
    assert sorted(seen_cursor) == sorted(e.uid for e in corpus())


def test_columns_select_fields_by_name_or_alias(store):
    result = search(
        store,
        "EventID:1",
        tenant=TENANT,
        columns=["CommandLine", "user.name", "userIdentity.type"],
        limit=1,
    )
    event = result.events[0]
    assert set(event) == {
        "id", "uid", "ts", "sensor", "host",
        "CommandLine", "user.name", "userIdentity.type",
    }  # fmt: skip
    assert event["CommandLine"].startswith("echo")
    assert event["userIdentity.type"] is None


def test_full_rows_carry_parsed_fields_and_no_scope_columns(store):
    event = search(store, "uid:e-fw", tenant=TENANT).events[0]
    assert event["fields"]["dst_port"] == 443
    assert event["exercise"] == "ex-1"
    assert "tenant" not in event


def test_count_can_be_skipped_for_speed(store):
    result = search(store, "*", tenant=TENANT, limit=2, count=False)
    assert result.total == 2 and not result.total_exact


# --- histogram and top values ------------------------------------------------------


def test_histogram_counts_matching_events_per_round_step(store):
    hist = histogram(
        store,
        "*",
        tenant=TENANT,
        start="2026-03-01T08:00:00Z",
        end="2026-03-01T08:10:00Z",
        buckets=5,
    )
    assert hist.interval_s == 120
    assert [b.count for b in hist.buckets] == [2, 2, 2, 2, 2]
    assert hist.buckets[0].start == "2026-03-01T08:00:00.000Z"
    assert hist.total == 10


def test_histogram_without_bounds_spans_the_matches(store):
    hist = histogram(store, "EventID:1", tenant=TENANT, buckets=60)
    assert hist.total == 4
    assert sum(b.count for b in hist.buckets) == 4
    assert hist.buckets[0].start <= "2026-03-01T08:00:00.000Z"
    assert hist.end > "2026-03-01T08:09:00.000Z"


def test_histogram_of_nothing_is_empty(store):
    assert histogram(store, "nosuchword", tenant=TENANT).buckets == []


def test_top_values_for_pivots(store):
    top = top_values(store, "*", "host", tenant=TENANT, n=2)
    assert top.values == [("DC-01", 2), ("WS-01", 2)]  # ties in value order
    assert top.total == 10
    assert top.missing == 3  # firewall, proxy and cloud events name no host
    users = top_values(store, "EventID:1", "user.name", tenant=TENANT)
    assert users.field == "User"
    assert dict(users.values)["CORP\\bob"] == 1
    ports = top_values(store, "*", "dst_port", tenant=TENANT)
    assert ports.values == [(443, 1)] and ports.missing == 9


def test_top_values_respect_the_tenant(store):
    top = top_values(store, "mimikatz", "host", tenant="red")
    assert top.values == [("WS-02", 1)]


# --- ground truth stays out of reach -------------------------------------------------


def test_labels_are_never_searchable(store):
    for query in ("technique:T1003*", "malicious:*", "stage:*", "labels.stage:*"):
        assert uids(store, query) == set()
    event = search(store, "uid:e-mimikatz", tenant=TENANT).events[0]
    assert "T1003" not in orjson.dumps(event).decode()


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("host:(WS-01", 11, "ends too early"),
        ("host:WS-01)", 10, "unexpected ')'"),
        ('CommandLine:"unterminated', 12, "unterminated quoted phrase"),
        ("host:WS-01 AND", 14, "ends too early"),
        ("a OR OR b", 5, "unexpected 'OR'"),
        ("tenant:red", 0, "cannot be searched"),
        ("fields:x", 0, "cannot be searched"),
        ("bad$name:x", 0, "not a valid field name"),
        ("EventID:four", 8, "not a number"),
        ("EventID:[1 TO x]", 14, "not a number"),
        ("EventID:[9 TO 1]", 8, "empty range"),
        ("host:[a* TO b]", 6, "wildcards"),
        ("ts:>yesterday", 4, "not a timestamp"),
        ("[1 TO 5]", 0, "needs a field"),
        ("host:WS-01 and EventID:1", 11, "write AND in capitals"),
        ("a || b", 2, "write OR in capitals"),
        ("mimikatz~2", 0, "fuzzy"),
        ('"a b"~3', 0, "proximity"),
        ("host:x^2", 5, "boosts"),
        ("CommandLine:/mimi.*/", 12, "regular expressions"),
        ("a:b:c", 2, "nested inside another field"),
        ("_exists_:(a OR b)", 0, "one field name"),
    ],
)
def test_bad_queries_say_what_is_wrong_and_where(store, query, position, fragment):
    with pytest.raises(SearchError) as caught:
        search(store, query, tenant=TENANT)
    assert fragment in caught.value.message
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"start": "not a time"}, "start time"),
        ({"end": "2026-13-01"}, "end time"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "not before"),
        ({"cursor": "%%%"}, "invalid cursor"),
        ({"columns": ["tenant"]}, "cannot be searched"),
    ],
)
def test_bad_arguments_raise_search_errors(store, kwargs, fragment):
    with pytest.raises(SearchError, match=fragment):
        search(store, "*", tenant=TENANT, **kwargs)


def test_bad_arguments_of_histogram_and_top_values(store):
    with pytest.raises(SearchError, match="buckets"):
        histogram(store, "*", tenant=TENANT, buckets=0)
    with pytest.raises(SearchError, match="not a valid field name"):
        top_values(store, "*", "x;y", tenant=TENANT)
    with pytest.raises(SearchError, match="n must be"):
        top_values(store, "*", "host", tenant=TENANT, n=0)


# --- plans for rare and common values ------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def busy_store(request, tmp_path_factory):
    """5,000 events: EventID 4625 is common, 4740 rare; times are not in id order."""
    events = []
    for i in range(5000):
        event_id = 4740 if i % 500 == 7 else (4625 if i % 2 else 4624)
        minute = (i * 7919) % 5000  # ingest order differs from time order
        events.append(_security(f"b-{i}", minute, event_id, f"user{i % 40}", 3))
    folder = tmp_path_factory.mktemp("busy")
    with fresh_store_url(request, request.param, folder) as url:
        store = EventStore.open(url)
        store.insert(events, tenant=TENANT)
        store.insert([_security("other-tenant", 9999, 4625, "x", 3)], tenant="red")
        yield store, events
        store.close()


@pytest.mark.parametrize("event_id", [4625, 4740])
def test_common_and_rare_values_both_give_the_newest_matches(busy_store, event_id):
    store, events = busy_store
    expected = sorted(
        (e for e in events if e.fields["EventID"] == event_id),
        key=lambda e: e.ts,
        reverse=True,
    )
    result = search(store, f"EventID:{event_id}", tenant=TENANT, limit=50)
    assert [e["uid"] for e in result.events] == [e.uid for e in expected[:50]]
    assert result.total == min(len(expected), 10_000)
    page = search(store, f"EventID:{event_id}", tenant=TENANT, limit=5, offset=5)
    assert [e["uid"] for e in page.events] == [e.uid for e in expected[5:10]]


def test_common_full_text_word_pages_newest_first(busy_store):
    store, events = busy_store
    expected = sorted(
        (e for e in events if e.fields["EventID"] == 4624), key=lambda e: -e.ts
    )
    seen, cursor = [], None
    for _ in range(3):
        page = search(store, "4624", tenant=TENANT, limit=20, cursor=cursor)
        seen += [e["uid"] for e in page.events]
        cursor = page.next_cursor
    assert seen == [e.uid for e in expected[:60]]
