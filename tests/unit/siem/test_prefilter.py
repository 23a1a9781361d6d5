"""The detector's pre-filter: rule needs, and the same alerts as plain queries."""

from __future__ import annotations

import uuid
from dataclasses import replace

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siem.detector import Detector
from siem.prefilter import regex_literal
from siem.sigma import load_rule, load_rules
from siem.store import EventStore
from simulator.events import Event, parse_iso

T0 = parse_iso("2026-03-01T08:00:00Z")


def rule(detection: str, logsource: str = "category: process_creation") -> str:
    """A Sigma rule; its id follows from its text, so every rule has its own."""
    rule_id = uuid.uuid5(uuid.NAMESPACE_URL, logsource + detection)
    return (
        f"title: Sample\nid: {rule_id}\n"
        f"logsource: {{product: windows, {logsource}}}\n"
        f"detection:\n{detection}\n"
    )


def needs(detection: str) -> tuple:
    return load_rule(rule(detection)).needs


# ---------------------------------------------------------------------------
# needs


def test_a_field_value_needs_its_literal_in_that_field():
    found = needs(
        "    sel: {Image|endswith: ['\\\\whoami.exe', '\\\\net.exe']}\n"
        "    condition: sel"
    )
    assert found == ((("Image", "\\net.exe"), ("Image", "\\whoami.exe")),)


def test_every_selection_of_a_conjunction_adds_a_clause():
    found = needs(
        "    a: {Image|endswith: '\\\\cmd.exe'}\n"
        "    b: {CommandLine|contains: ' /c '}\n"
        "    condition: a and b"
    )
    assert set(found) == {(("Image", "\\cmd.exe"),), (("CommandLine", " /c "),)}


def test_negations_need_nothing():
    found = needs(
        "    a: {Image|endswith: '\\\\cmd.exe'}\n"
        "    b: {User|contains: 'SYSTEM'}\n"
        "    condition: a and not b"
    )
    assert found == ((("Image", "\\cmd.exe"),),)


def test_an_alternative_needs_one_literal_of_each_branch():
    found = needs(
        "    a: {Image|endswith: '\\\\cmd.exe'}\n"
        "    b: {CommandLine|contains: 'mimikatz'}\n"
        "    condition: a or b"
    )
    assert found == ((("CommandLine", "mimikatz"), ("Image", "\\cmd.exe")),)


def test_an_alternative_with_an_unknowable_branch_needs_nothing():
    found = needs(
        "    a: {Image|endswith: '\\\\cmd.exe'}\n"
        "    b: {ParentImage|cidr: '10.0.0.0/8'}\n"
        "    condition: a or b"
    )
    assert found == ()


def test_keywords_are_needed_in_the_raw_text():
    found = needs("    keywords: ['Invoke-Mimikatz']\n    condition: keywords")
    assert found == (((None, "invoke-mimikatz"),),)


def test_short_numbers_are_needed_too():
    found = needs("    sel: {EventID: 16}\n    condition: sel")
    assert found == ((("EventID", "16"),),)


def test_dotted_field_names_need_nothing():
    # read as a flat key or as a nested path: no single value to look in
    found = needs("    sel: {userIdentity.type: 'Root'}\n    condition: sel")
    assert found == ()


def test_wildcards_leave_the_longest_plain_piece():
    found = needs("    sel: {CommandLine: '*sekurlsa::*pass*'}\n    condition: sel")
    assert found == ((("CommandLine", "sekurlsa::"),),)


def test_a_regex_needs_its_longest_top_level_literal():
    found = needs(
        "    sel: {CommandLine|re: 'foo[0-9]+invoke-expr'}\n    condition: sel"
    )
    assert found == ((("CommandLine", "invoke-expr"),),)


@pytest.mark.parametrize(
    "pattern, ignore_case, literal",
    [
        (r"abc\.exe[0-9]+", False, "abc.exe"),
        (r"^C:\\Windows\\Temp\\", False, "c:\\windows\\temp\\"),
        ("mimi|kiwi", False, ""),  # either branch: nothing is certain
        ("(mimikatz)", False, ""),  # groups are not looked into
        ("x?mimikatz", False, "mimikatz"),
        ("(?i)mimikatz", False, "katz"),  # (?i)s and i also match ſ and ı
        ("mimikatz", True, "katz"),
        ("(?x) a b c", False, ""),  # verbose: blanks are not literal
        ("caf\u00e9x", False, "caf"),  # ASCII only
        ("([unbalanced", False, ""),
    ],
)
def test_regex_literals_only_claim_what_every_match_contains(
    pattern, ignore_case, literal
):
    assert regex_literal(pattern, ignore_case=ignore_case) == literal


# ---------------------------------------------------------------------------
# same alerts as plain queries

RULES = [
    rule("    sel: {EventID: 4688}\n    condition: sel", "service: security"),
    rule("    sel: {Image|endswith: '\\\\w?oami.exe'}\n    condition: sel"),
    rule("    sel: {CommandLine|re|i: 'sekurlsa'}\n    condition: sel"),
    rule("    sel: {CommandLine|cased|contains: 'Invoke'}\n    condition: sel"),
    rule("    sel: {CommandLine|windash|contains: '-enc '}\n    condition: sel"),
    rule("    sel: {CommandLine|contains: '\u0414\u0410\u041d'}\n    condition: sel"),
    rule("    keywords: ['mimikatz']\n    condition: keywords"),
    rule("    sel: {Data|contains: 'needle'}\n    condition: sel"),
    rule("    sel: {Count: 42}\n    condition: sel"),
    rule("    sel: {Flag: 'true'}\n    condition: sel"),
    rule("    sel: {Score|gt: 9}\n    condition: sel"),
    rule(
        "    sel: {TargetUserName|fieldref: SubjectUserName}\n    condition: sel",
        "service: security",
    ),
    rule("    sel: {ParentImage: null}\n    condition: sel"),
    rule(
        "    sel:\n        Image|endswith: ['\\\\a.exe', '\\\\b.exe', '\\\\c.exe', "
        "'\\\\d.exe', '\\\\e.exe', '\\\\f.exe']\n"
        "    filter: {Image|startswith: 'C:\\\\Windows\\\\'}\n"
        "    condition: sel and not filter"
    ),
    rule("    sel: {Nested.key: 'deep'}\n    condition: sel"),
]


def process(uid: str, fields: dict, raw: str = "", service: str = "sysmon") -> Event:
    category = "process_creation" if service == "sysmon" else None
    if fields.get("EventID") == 4688:
        category = "process_creation"
    return Event(
        uid,
        T0,
        "sysmon",
        "WS-01",
        "windows",
        category,
        service,
        fields,
        raw or orjson.dumps(fields).decode(),
    )


TRICKY = [
    process("num-text", {"EventID": "4688"}, service="security"),
    process("num-exponent", {"EventID": "4.688e3"}, service="security"),
    process("num-real", {"EventID": 4688.0}, service="security"),
    process("whoami", {"Image": "C:\\Windows\\System32\\WHOAMI.EXE"}),
    process("whoami-wild", {"Image": "C:\\x\\wxoami.exe"}),
    process("long-s", {"CommandLine": "\u017fekurl\u017fa::logonpasswords"}),
    process("cased-no", {"CommandLine": "invoke-webrequest"}),
    process("cased-yes", {"CommandLine": "Invoke-WebRequest"}),
    process("windash", {"CommandLine": "powershell \u2013enc AAAA"}),
    process("cyrillic-lower", {"CommandLine": "\u0434\u0430\u043d"}),
    process("cyrillic", {"CommandLine": "x\u0414\u0410\u041dy"}),
    process("keyword-raw-only", {"Image": "C:\\a\\z.exe"}, raw="ran MIMIKATZ here"),
    process("keyword-fields-only", {"CommandLine": "mimikatz"}, raw="nothing"),
    process("object", {"Data": {"inner": "a needle in it"}}),
    process("array", {"Data": ["needle"]}),
    process("count-int", {"Count": 42}),
    process("count-text", {"Count": "42"}),
    process("count-real", {"Count": 42.0}),
    process("flag-bool", {"Flag": True}),
    process("flag-text", {"Flag": "TRUE"}),
    process("score-text", {"Score": "10"}),
    process("score-real", {"Score": 9.5}),
    process(
        "fieldref",
        {"TargetUserName": "Bob", "SubjectUserName": "bob"},
        service="security",
    ),
    process("no-parent", {"Image": "C:\\x\\y.exe"}),
    process("parent-null", {"Image": "C:\\x\\y.exe", "ParentImage": None}),
    process("list-hit", {"Image": "C:\\Users\\e.exe"}),
    process("list-filtered", {"Image": "C:\\Windows\\e.exe"}),
    process("nested", {"Nested": {"key": "DEEP"}}),
    process("flat-dotted", {"Nested.key": "deep"}),
]


def alert_links(store: EventStore) -> set[tuple[str, int]]:
    with store.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT a.rule_title, e.event_id FROM alerts a JOIN alert_events e "
            "ON e.alert_id = a.id"
        )
        return {(title, event_id) for title, event_id in rows}


def fast_and_plain(events: list[Event], texts: list[str]) -> tuple[set, set]:
    """Alert links of the pre-filtered and of the plain detector over ``events``."""
    loaded = load_rules(texts)
    assert not loaded.failures
    # distinct titles, so that a link names its rule
    rules = [replace(r, title=f"r{i}") for i, r in enumerate(loaded.rules)]
    links = []
    for prefilter in (True, False):
        store = EventStore.open("sqlite://")
        try:
            store.insert(events)
            Detector(store, rules, prefilter=prefilter).tick()
            links.append(alert_links(store))
        finally:
            store.close()
    return links[0], links[1]


def test_tricky_values_give_the_same_alerts_with_and_without_the_prefilter():
    fast, plain = fast_and_plain(TRICKY, RULES)
    assert fast == plain
    uids = {i + 1: e.uid for i, e in enumerate(TRICKY)}
    found = {(title, uids[event_id]) for title, event_id in fast}
    assert {
        ("r0", "num-exponent"),
        ("r2", "long-s"),
        ("r6", "keyword-raw-only"),
        ("r3", "cased-yes"),
        ("r4", "windash"),
        ("r13", "list-hit"),
    } <= found
    assert ("r3", "cased-no") not in found
    assert ("r6", "keyword-fields-only") not in found


VALUES = st.one_of(
    st.text(alphabet="abcWHOAMI\\.-_ \u017f\u0131\u0130\u212a\u0414", max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["4688", "4.688e3", "42", "true", "needle", "Invoke"]),
    st.dictionaries(st.sampled_from(["key", "inner"]), st.text(max_size=6), max_size=2),
)
FIELDS = st.dictionaries(
    st.sampled_from(
        ["EventID", "Image", "CommandLine", "Data", "Count", "Flag", "Score"]
        + ["TargetUserName", "SubjectUserName", "ParentImage", "Nested", "Nested.key"]
    ),
    VALUES,
    max_size=6,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(
        st.tuples(FIELDS, st.sampled_from(["sysmon", "security"]), st.text(max_size=8)),
        min_size=1,
        max_size=8,
    )
)
def test_any_events_give_the_same_alerts_with_and_without_the_prefilter(drawn):
    events = [
        process(f"e{i}", fields, raw=raw, service=service)
        for i, (fields, service, raw) in enumerate(drawn)
    ]
    fast, plain = fast_and_plain(events, RULES)
    assert fast == plain
