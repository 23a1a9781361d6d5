"""The JSON Schema editors use for completion and checking."""

from __future__ import annotations

from simulator import vocabulary
from simulator.scenario import json_schema


def test_the_schema_describes_the_top_level_keys():
    schema = json_schema()
    assert schema["title"] == "socdrill scenario"
    assert set(schema["required"]) >= {"id", "title", "stages", "duration"}
    assert schema["additionalProperties"] is False
    assert {"environment", "crisis", "debrief"} <= set(schema["properties"])


def test_choices_and_durations_are_spelled_out_for_editors():
    defs = json_schema()["$defs"]
    stage = defs["Stage"]["properties"]
    assert stage["tier"]["enum"] == list(vocabulary.TIERS)
    assert stage["jitter"]["anyOf"][0]["pattern"].startswith("^")
    assert "5m..15m" in stage["delay"]["anyOf"][0]["description"]
    assert set(defs["Requires"]["properties"]) == set(vocabulary.CONDITIONS)
    assert set(defs["ResponseExpectation"]["properties"]) == set(
        vocabulary.RESPONSE_ACTIONS
    )
    inject = defs["CrisisInject"]["properties"]
    assert "from" in inject and inject["channel"]["enum"] == list(
        vocabulary.CRISIS_CHANNELS
    )
