"""Timestamp formats and identifiers filled on the hot path."""

from __future__ import annotations

import random
import re

from hypothesis import given
from hypothesis import strategies as st

from simulator import fill
from simulator.events import iso_ms as reference_iso_ms


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_cached_iso_timestamps_equal_the_event_record_format(ts):
    assert fill.iso_ms(ts) == reference_iso_ms(ts)


@given(
    st.one_of(
        st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
        # just below a whole second, where the milliseconds round into the next one
        st.integers(0, 4_102_444_800).map(lambda s: s + 0.9995),
        st.integers(0, 4_102_444_800).map(lambda s: s + 0.99949),
    )
)
def test_the_whole_second_is_the_one_split_ms_stamps(ts):
    assert fill.whole_second(ts) == fill.split_ms(ts)[0]


def test_native_timestamp_styles():
    ts = 1_772_438_400.25  # 2026-03-02 08:00:00.250 UTC
    assert fill.sysmon_time(ts) == "2026-03-02 08:00:00.250"
    assert fill.rfc3164_time(ts) == "Mar  2 08:00:00"
    assert fill.apache_time(ts) == "02/Mar/2026:08:00:00 +0000"
    assert fill.bind_time(ts) == "02-Mar-2026 08:00:00.250"
    assert fill.squid_time(ts) == "1772438400.250"
    assert fill.iso_s(ts) == "2026-03-02T08:00:00Z"
    assert fill.epoch_ms(ts) == 1_772_438_400_250


def test_guids_are_version_4_and_seeded():
    a = fill.guid(random.Random(1))
    assert a == fill.guid(random.Random(1))
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
        r"[0-9a-f]{12}",
        a,
    )


def test_process_guids_encode_machine_and_start_time():
    ts = 1_766_815_234  # 0x694F7602
    g = fill.process_guid("ws0001.corp.acme.test", ts, random.Random(1))
    assert g.startswith(fill.machine_prefix("ws0001.corp.acme.test") + "-7602-694F-")


def test_hashes_are_stable_per_path_and_differ_between_paths():
    a = fill.sysmon_hashes("C:\\a.exe")
    assert a == fill.sysmon_hashes("C:\\A.EXE")
    assert a != fill.sysmon_hashes("C:\\b.exe")


def test_record_ids_follow_time_and_never_repeat_in_a_context():
    counters: dict[str, int] = {}
    ids = [
        fill.record_id(counters, "h", "Security", 1.8e9 + i / 20) for i in range(300)
    ]
    assert ids == sorted(set(ids))
    # A fresh context (the next noise slot) starts above the previous second's.
    later = fill.record_id({}, "h", "Security", 1.8e9 + 15)
    assert later > ids[-1]
