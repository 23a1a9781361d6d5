"""A rule's query reads each field once and evaluates like its fragment."""

from __future__ import annotations

from siem.rulequery import rule_query


def test_json_reads_become_columns_computed_once():
    query = rule_query(
        "(json_extract(fields, '$.\"Signature\"') LIKE '%a%' ESCAPE '\\' "
        "OR json_extract(fields, '$.\"Signature\"') LIKE '%b%' ESCAPE '\\')"
    )
    assert query.calls == (("json_extract(fields, '$.\"Signature\"')", '"__field_0"'),)
    assert query.condition == (
        "(\"__field_0\" LIKE '%a%' ESCAPE '\\' OR \"__field_0\" LIKE '%b%' ESCAPE '\\')"
    )


def test_string_literals_are_left_alone():
    fragment = (
        "\"Image\" LIKE '%json_extract(fields, ''$.\"x\"'')\"CommandLine\" raw%' "
        "ESCAPE '\\'"
    )
    query = rule_query(fragment)
    assert query.condition == fragment
    assert query.columns == ('"Image"',)
    assert query.calls == ()
    assert query.grouped


def test_a_rule_reading_raw_text_is_evaluated_event_by_event():
    query = rule_query("raw LIKE '%mimikatz%' ESCAPE '\\'")
    assert query.columns == ("raw",)
    assert not query.grouped
    assert "group_concat" not in query.by_ids()
    assert "GROUP BY" in rule_query("\"Image\"='x'").by_range(2)
