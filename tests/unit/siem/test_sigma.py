"""Sigma rules through pySigma and our backend: semantics of every modifier."""

from __future__ import annotations

import textwrap

import orjson
import pytest

from siem.detector import retro_hunt
from siem.sigma import (
    RuleError,
    for_dialect,
    load_rule,
    load_rules,
    required_literals,
)
from simulator.events import Event, parse_iso

T0 = parse_iso("2026-03-01T08:00:00Z")


def rule_yaml(
    detection: str,
    logsource: str = "category: process_creation\n    product: windows",
) -> str:
    """A complete rule around ``detection`` (YAML, any indentation)."""
    body = textwrap.indent(textwrap.dedent(detection), "    ")
    return (
        "title: Test rule\n"
        "id: 0e1f1ab0-0000-4000-8000-000000000001\n"
        "status: test\n"
        "tags:\n"
        "    - attack.execution\n"
        "    - attack.t1059.001\n"
        "    - attack.g0016\n"
        f"logsource:\n    {logsource}\n"
        f"detection:\n{body}"
        "level: high\n"
    )


@pytest.fixture
def matches(new_store):
    """Positions (1-based) of the events, built from field sets, a rule matches, on
    a fresh store of the backend under test."""

    def run(
        detection: str,
        *field_sets: dict,
        raws: list[str] | None = None,
        logsource: str | None = None,
    ) -> list[int]:
        store = new_store()
        rule = load_rule(
            rule_yaml(detection, logsource) if logsource else rule_yaml(detection),
            dialect=store.dialect,
        )
        events = [
            Event(
                uid=f"e{i}",
                ts=T0 + i,
                sensor="sysmon",
                host="WS-01",
                product="windows",
                category="process_creation",
                service="sysmon",
                fields=fields,
                raw=(raws[i] if raws else orjson.dumps(fields).decode()),
            )
            for i, fields in enumerate(field_sets)
        ]
        store.insert(events)
        return retro_hunt(store, [rule]).matches[rule.id]

    return run


def test_contains_startswith_endswith_are_case_insensitive(matches):
    detection = """\
        selection:
            CommandLine|contains: 'sekurlsa::'
            Image|endswith: '\\mimikatz.exe'
            ParentImage|startswith: 'C:\\Users\\'
        condition: selection
    """
    hit = {
        "CommandLine": "x SEKURLSA::logonpasswords",
        "Image": r"C:\T\MimiKatz.EXE",
        "ParentImage": r"c:\users\bob\a.exe",
    }
    miss = dict(hit, Image=r"C:\T\mimikatz.exe.bak")
    assert matches(detection, hit, miss) == [1]


def test_plain_equality_on_a_json_only_field_ignores_case(matches):
    detection = """\
        selection:
            FileVersion: 'ABC 1.0'
        condition: selection
    """
    assert matches(detection, {"FileVersion": "abc 1.0"}, {"FileVersion": "x"}) == [1]


def test_contains_all_needs_every_value(matches):
    detection = """\
        selection:
            CommandLine|contains|all: ['-enc', 'bypass']
        condition: selection
    """
    assert matches(
        detection, {"CommandLine": "-enc AAA -ep bypass"}, {"CommandLine": "-enc AAA"}
    ) == [1]


def test_windash_accepts_every_dash(matches):
    detection = """\
        selection:
            CommandLine|contains|windash: ' -s '
        condition: selection
    """
    fields = [{"CommandLine": f"psexec {d}s cmd"} for d in ("-", "/", "\u2013", "x")]
    assert matches(detection, *fields) == [1, 2, 3]


def test_regex_is_case_sensitive_unless_flagged(matches):
    sensitive = """\
        selection:
            CommandLine|re: 'Invoke-[A-Z]'
        condition: selection
    """
    insensitive = """\
        selection:
            CommandLine|re|i: 'invoke-[a-z]'
        condition: selection
    """
    fields = ({"CommandLine": "Invoke-Mimikatz"}, {"CommandLine": "invoke-x"})
    assert matches(sensitive, *fields) == [1]
    assert matches(insensitive, *fields) == [1, 2]


def test_cased_matches_case_exactly(matches):
    detection = """\
        selection:
            CommandLine|cased|contains: 'ABC'
        condition: selection
    """
    assert matches(detection, {"CommandLine": "xABCx"}, {"CommandLine": "abc"}) == [1]


def test_cidr_and_not_filter_on_an_absent_field(matches):
    detection = """\
        selection:
            DestinationIp|cidr: '10.0.0.0/8'
        filter:
            User: 'NT AUTHORITY\\SYSTEM'
        condition: selection and not filter
    """
    fields = (
        {"DestinationIp": "10.1.2.3"},  # no User: the filter cannot exclude it
        {"DestinationIp": "10.1.2.3", "User": "nt authority\\system"},
        {"DestinationIp": "192.0.2.1"},
    )
    assert matches(detection, *fields) == [1]


def test_numeric_comparisons_accept_numbers_and_numeric_text(matches):
    detection = """\
        selection:
            SourcePort|gte: 1024
        condition: selection
    """
    fields = (
        {"SourcePort": "50000"},
        {"SourcePort": 51000},
        {"SourcePort": 80},
        {"SourcePort": "80"},
        {"SourcePort": "n/a"},
    )
    assert matches(detection, *fields) == [1, 2]


def test_number_equality_on_a_json_only_field_accepts_text(matches):
    detection = """\
        selection:
            KeyLength: 0
        condition: selection
    """
    assert matches(
        detection, {"KeyLength": "0"}, {"KeyLength": 0}, {"KeyLength": 128}
    ) == [1, 2]


def test_exists_and_null(matches):
    exists = """\
        selection:
            Hashes|exists: true
        condition: selection
    """
    null = """\
        selection:
            Hashes: null
        condition: selection
    """
    fields = ({"Hashes": "MD5=1"}, {"Image": "x"})
    assert matches(exists, *fields) == [1]
    assert matches(null, *fields) == [2]


def test_keywords_search_the_raw_line(matches):
    detection = """\
        keywords:
            - 'Failed password'
        condition: keywords
    """
    raws = ["sshd[1]: Failed password for root", "sshd[1]: Accepted publickey"]
    assert matches(detection, {}, {}, raws=raws) == [1]


def test_nested_fields_are_read_through_their_path(matches):
    detection = """\
        selection:
            userIdentity.type: 'Root'
        condition: selection
    """
    fields = ({"userIdentity": {"type": "Root"}}, {"userIdentity": {"type": "User"}})
    assert matches(detection, *fields) == [1]


def test_fieldref_compares_two_fields(matches):
    detection = """\
        selection:
            ParentUser|fieldref: User
        condition: selection
    """
    fields = ({"User": "a", "ParentUser": "A"}, {"User": "a", "ParentUser": "b"})
    assert matches(detection, *fields) == [1]


def test_logsource_limits_what_a_rule_sees(matches):
    detection = """\
        selection:
            CommandLine|contains: 'whoami'
        condition: selection
    """
    only_linux = "product: linux\n    category: process_creation"
    assert matches(detection, {"CommandLine": "whoami"}, logsource=only_linux) == []


def test_metadata_and_attack_tags_are_parsed():
    rule = load_rule(rule_yaml("selection:\n    Image: x\ncondition: selection\n"))
    assert rule.techniques == ("T1059.001",)
    assert rule.tactics == ("execution",)
    assert (rule.level, rule.severity, rule.status) == ("high", 3, "test")
    assert rule.logsource == {"product": "windows", "category": "process_creation"}
    assert rule.fragment.startswith("(") or "Image" in rule.fragment


@pytest.mark.parametrize(
    "text, reason",
    [
        ("title: [unclosed", "invalid yaml"),
        ("- just a list", "invalid yaml"),
        (
            rule_yaml(
                "selection:\n    Image|nosuchmodifier: x\ncondition: selection\n"
            ),
            "unsupported modifier",
        ),
        (
            rule_yaml("selection:\n    Image|re: '(?<n>x)'\ncondition: selection\n"),
            "unsupported regex",
        ),
        (
            rule_yaml(
                "selection:\n    Image: x\ncondition: selection\n",
                logsource="product: commodore64",
            ),
            "unknown logsource",
        ),
        (rule_yaml("selection:\n    Image: x\ncondition: nothere\n"), "invalid rule"),
    ],
)
def test_unusable_rules_are_reported_with_a_reason(text, reason):
    loaded = load_rules([text, rule_yaml("sel:\n    Image: x\ncondition: sel\n")])
    assert len(loaded.rules) == 1
    assert [f.reason for f in loaded.failures] == [reason]
    with pytest.raises(RuleError):
        load_rule(text)


def test_required_literals_follow_the_condition():
    rule = load_rule(
        rule_yaml(
            """\
            sel_img:
                Image|endswith: ['\\a.exe', '\\b.exe']
            sel_cmd:
                CommandLine|contains: 'secret'
            filter:
                User: 'bob'
            condition: all of sel_* and not filter
            """
        )
    )
    assert ("secret",) in rule.requirements
    assert ("\\a.exe", "\\b.exe") in rule.requirements
    assert all("bob" not in clause for clause in rule.requirements)


def test_an_or_with_an_unconstrained_branch_requires_nothing():
    rule = load_rule(
        rule_yaml(
            """\
            a:
                CommandLine|contains: 'secret'
            b:
                CommandLine|re: '.*'
            condition: a or b
            """
        )
    )
    assert rule.requirements == ()
    assert required_literals([]) == ()


def test_postgresql_fragments_use_ilike_lower_and_regex_operators():
    detection = """\
        selection:
            Image|endswith: '\\cmd.exe'
            User: 'CORP\\alice'
            CommandLine|re: 'a.c'
            DestinationPort|gt: 1024
        condition: selection and not filter
        filter:
            ParentImage|cased: 'X'
    """
    fragment = load_rule(rule_yaml(detection), dialect="postgresql").fragment
    assert "\"Image\" ILIKE '%\\\\cmd.exe' ESCAPE '\\'" in fragment
    assert "lower(\"User\")=lower('CORP\\alice')" in fragment
    assert "\"CommandLine\" ~ 'a.c'" in fragment
    assert '"DestinationPort" > 1024' in fragment
    assert "NOT COALESCE((\"ParentImage\" LIKE 'X' ESCAPE '\\'), false)" in fragment


def test_a_rule_converts_for_the_dialect_of_another_store():
    rule = load_rule(rule_yaml("sel:\n    Image|endswith: '\\x.exe'\ncondition: sel\n"))
    converted = for_dialect(rule, "postgresql")
    assert (converted.id, converted.dialect) == (rule.id, "postgresql")
    assert "ILIKE" in converted.fragment
    assert for_dialect(converted, "sqlite").fragment == rule.fragment
    assert for_dialect(rule, "sqlite") is rule
