"""Compiled shapes (the noise fast path) write what the sensors' full path writes."""

from __future__ import annotations

import json
import random

import pytest

from simulator.ndjson import record_line
from simulator.sensors import SENSORS, SensorContext

from .conftest import MONDAY

CHROME = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
SHAPES = [
    (
        "sysmon",
        "image_load",
        {"Image": CHROME, "ImageLoaded": "C:\\Windows\\System32\\amsi.dll"},
    ),
    (
        "sysmon",
        "network_connection",
        {"Image": CHROME, "DestinationIp": "192.0.2.9", "DestinationPort": 443},
    ),
    ("sysmon", "file_event", {"Image": CHROME, "TargetFilename": "C:\\Temp\\x.tmp"}),
    (
        "sysmon",
        "registry_set",
        {"Image": CHROME, "TargetObject": "HKLM\\x", "Details": "DWORD (0x00000001)"},
    ),
    ("sysmon", "dns_query", {"Image": CHROME, "QueryName": "news.example.com"}),
    ("sysmon", "process_creation", {"Image": CHROME, "CommandLine": CHROME}),
    (
        "sysmon",
        "process_access",
        {"SourceImage": CHROME, "TargetImage": "C:\\Windows\\System32\\lsass.exe"},
    ),
    (
        "windows_security",
        "default",
        {
            "EventID": 4624,
            "LogonType": 3,
            "TargetUserName": "Administrator",
            "IpAddress": "10.10.16.10",
        },
    ),
    (
        "windows_security",
        "default",
        {
            "EventID": 4769,
            "TargetUserName": "Administrator",
            "ServiceName": "svc_sql",
            "IpAddress": "10.10.16.10",
        },
    ),
    ("windows_security", "default", {"EventID": 4672}),
]


@pytest.mark.parametrize(("sensor_id", "kind", "values"), SHAPES)
def test_a_compiled_shape_matches_the_full_path(org, dc, sensor_id, kind, values):
    sensor = SENSORS[sensor_id]
    recipe = sensor.compile(kind, dc, values, org, MONDAY)
    assert recipe is not None
    for n in range(3):
        ts = MONDAY + 60 + n * 0.25
        fast = recipe("u", ts, SensorContext(org, random.Random(n)))
        full = sensor.event(
            uid="u",
            ts=ts,
            kind=kind,
            host=dc,
            values=values,
            ctx=SensorContext(org, random.Random(n)),
        )
        assert list(fast.fields) == list(full.fields)
        assert (fast.product, fast.category, fast.service) == (
            full.product,
            full.category,
            full.service,
        )
        drawn = {k for k in fast.fields if fast.fields[k] != full.fields[k]}
        # Only what each event draws anew may differ, never the shape itself.
        assert drawn <= {
            "TimeCreated",
            "Execution_ThreadID",
            "SourcePort",
            "TargetLogonId",
            "IpPort",
            "LogonGuid",
            "ProcessGuid",
            "ProcessId",
            "SourceThreadId",
            "CallTrace",
            "ParentProcessGuid",
            "ParentProcessId",
        }
        raw = json.loads(fast.raw)["Event"]
        for key, value in raw["EventData"].items():
            assert fast.fields[key] == value
        assert list(raw["System"]) == list(json.loads(full.raw)["Event"]["System"])


def test_shapes_that_would_freeze_a_random_draw_are_not_compiled(org, dc):
    # Without ImageLoaded the fill picks a library at random: that must stay per event.
    assert (
        SENSORS["sysmon"].compile("image_load", dc, {"Image": CHROME}, org, MONDAY)
        is None
    )
    # Without IpAddress a network logon draws its peer: not a compiled shape either.
    assert (
        SENSORS["windows_security"].compile(
            "default", dc, {"EventID": 4624, "TargetUserName": "x"}, org, MONDAY
        )
        is None
    )


# Static text a bytes template must carry through untouched: percent signs (the
# template's own markers) and non-ASCII letters (encoded once, at compile time).
AWKWARD = [
    (
        "sysmon",
        "registry_set",
        {
            "Image": CHROME,
            "TargetObject": "HKU\\S-1-5-21\\Environment\\TEMP",
            "Details": "%USERPROFILE%\\AppData\\Local\\Temp 100% café",
        },
    ),
    (
        "sysmon",
        "process_creation",
        {"Image": CHROME, "CommandLine": f'"{CHROME}" --profile-directory="Émile %1"'},
    ),
]


@pytest.mark.parametrize(("sensor_id", "kind", "values"), SHAPES + AWKWARD)
def test_a_compiled_record_line_is_the_ndjson_of_the_compiled_event(
    org, dc, sensor_id, kind, values
):
    sensor = SENSORS[sensor_id]
    recipe = sensor.compile(kind, dc, values, org, MONDAY)
    assert recipe is not None
    for n in range(3):
        ts = MONDAY + 60 + n * 0.25 + 0.001 * n
        line_ctx = SensorContext(org, random.Random(n))
        line = recipe.line(f"n-1-2-{n}", ts, line_ctx)
        event_ctx = SensorContext(org, random.Random(n))
        event = recipe(f"n-1-2-{n}", ts, event_ctx)
        if line is None:  # shapes with text needing escapes take the event path
            assert "CallTrace" in event.fields
            continue
        assert line == record_line(event)
        # Both paths leave the context as they found it for the next event.
        assert line_ctx.rng.random() == event_ctx.rng.random()
        assert line_ctx.counters == event_ctx.counters
