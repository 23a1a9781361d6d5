"""Durations and ranges as exercise directors write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.scenario.durations import (
    DurationError,
    DurationRange,
    format_duration,
    parse_duration,
    parse_range,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("2m30s", 150),
        ("500ms", 0.5),
        ("1.5h", 5400),
        (" 5M ", 300),
        ("0", 0),
        (0, 0),
    ],
)
def test_durations_read_as_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (5, "needs a unit"),
        ("5", "not a duration"),
        ("5 minutes", "not a duration"),
        ("-5m", "not a duration"),
        ("m5", "not a duration"),
        ("", "not a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1], "expected a duration"),
    ],
)
def test_malformed_durations_are_refused_with_a_hint(value, hint):
    with pytest.raises(DurationError, match=hint):
        parse_duration(value)


def test_a_range_reads_low_and_high():
    assert parse_range("5m..15m") == DurationRange(300, 900)
    assert parse_range("5m .. 15m") == DurationRange(300, 900)
    assert parse_range("20m") == DurationRange(1200, 1200)


def test_a_backwards_range_is_refused():
    with pytest.raises(DurationError, match="runs backwards"):
        parse_range("15m..5m")


def test_a_range_prints_as_written():
    assert str(parse_range("5m..15m")) == "5m..15m"
    assert str(parse_range("20m")) == "20m"


@given(st.integers(min_value=0, max_value=10 * 86400))
def test_formatting_then_parsing_gives_the_same_seconds(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=30))
def test_any_text_is_a_duration_or_a_duration_error(text):
    try:
        value = parse_duration(text)
    except DurationError:
        return
    assert value >= 0
