"""Synthetic Windows events carry the fields real recorded events carry.

The reference is the real Sysmon and Security events recorded for SigmaHQ's
regression tests (``sigma-regression/*/events.json``): for every EventID the sensors
produce that appears there, at least 90 % of the real event's field names (EventData
plus the flattened System values) must be present in a synthetic event made from
nothing but the image name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from simulator.sensors import SENSORS
from simulator.sensors.sysmon import SPECS
from simulator.sensors.windows_security import FIELDS as SECURITY_FIELDS
from tests.conftest import REALWORLD

from .conftest import MONDAY

REGRESSION = REALWORLD / "sigma-regression"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"


def read_events(path: Path) -> list[dict[str, Any]]:
    """Concatenated JSON objects, as EVTX-to-JSON converters write them."""
    text = path.read_text(encoding="utf-8-sig")
    decoder = json.JSONDecoder()
    events, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return events
        obj, i = decoder.raw_decode(text, i)
        events.append(obj["Event"])


def flatten_system(system: dict[str, Any]) -> dict[str, Any]:
    """System values flattened the way EVTX-to-JSON pipelines and Sigma name them."""
    flat: dict[str, Any] = {}
    for key, value in system.items():
        if isinstance(value, dict):
            for attr, inner in (value.get("#attributes") or {}).items():
                flat[key if key == "TimeCreated" else f"{key}_{attr}"] = inner
        elif value is not None:
            flat[key] = value
    return flat


def real_events() -> dict[tuple[str, int], list[dict[str, Any]]]:
    found: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(REGRESSION.glob("*/events.json")):
        for event in read_events(path):
            system = event["System"]
            found[(system["Channel"], int(system["EventID"]))].append(event)
    return found


REAL = real_events() if REGRESSION.is_dir() else {}
SYSMON_KINDS = {}
for _kind, _spec in SPECS.items():
    SYSMON_KINDS.setdefault(_spec.event_id, _kind)
CASES = sorted(
    key
    for key in REAL
    if (key[0] == SYSMON_CHANNEL and key[1] in SYSMON_KINDS)
    or (key[0] == "Security" and key[1] in SECURITY_FIELDS)
)


def synthesize(org, ctx, host, channel: str, event_id: int, real: dict[str, Any]):
    data = real.get("EventData") or {}
    if channel == SYSMON_CHANNEL:
        values = {"Image": data["Image"]} if data.get("Image") else {}
        return SENSORS["sysmon"].event(
            uid="t",
            ts=MONDAY,
            kind=SYSMON_KINDS[event_id],
            host=host,
            values=values,
            ctx=ctx,
        )
    return SENSORS["windows_security"].event(
        uid="t",
        ts=MONDAY,
        kind="default",
        host=host,
        values={"EventID": event_id},
        ctx=ctx,
    )


def test_the_real_recorded_events_are_there():
    assert REGRESSION.is_dir(), f"{REGRESSION} is missing"
    assert CASES, "no recorded Sysmon or Security event to compare with"


@pytest.mark.parametrize(("channel", "event_id"), CASES)
def test_synthetic_events_carry_nine_tenths_of_the_real_field_names(
    org, ctx, workstation, channel, event_id
):
    for real in REAL[(channel, event_id)]:
        names = set(flatten_system(real["System"])) | set(real.get("EventData") or {})
        event = synthesize(org, ctx, workstation, channel, event_id, real)
        present = names & set(event.fields)
        share = len(present) / len(names)
        missing = sorted(names - present)
        assert share >= 0.9, f"EventID {event_id}: {share:.0%}, missing {missing}"


@pytest.mark.parametrize(("channel", "event_id"), CASES)
def test_the_raw_line_has_the_shape_of_a_converted_evtx_record(
    org, ctx, workstation, channel, event_id
):
    real = REAL[(channel, event_id)][0]
    event = synthesize(org, ctx, workstation, channel, event_id, real)
    raw = json.loads(event.raw)["Event"]
    assert list(raw["System"]) == list(real["System"])
    assert set(real["EventData"]) <= set(raw["EventData"])
    for key, value in raw["EventData"].items():
        assert event.fields[key] == value
    assert flatten_system(raw["System"]).items() <= event.fields.items()


@pytest.mark.parametrize(("channel", "event_id"), CASES)
def test_filled_values_have_the_types_real_records_have(
    org, ctx, workstation, channel, event_id
):
    real = REAL[(channel, event_id)][0]
    event = synthesize(org, ctx, workstation, channel, event_id, real)
    for key, value in (real.get("EventData") or {}).items():
        assert type(event.fields[key]) is type(value), key
