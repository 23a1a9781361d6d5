"""Durations as an exercise director writes them: ``90s``, ``5m``, ``2h``, ``1h30m``.

A range ``5m..15m`` means "somewhere in between", drawn from the stage's seeded RNG.
Values are seconds (floats) once parsed; text is what authors and error messages see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

# One or more <number><unit> parts, largest first by convention ("1h30m", "2m30s").
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")

DURATION_PATTERN = r"^\s*(0|(\d+(\.\d+)?(ms|s|m|h|d))+)\s*$"
RANGE_PATTERN = (
    r"^\s*(0|(\d+(\.\d+)?(ms|s|m|h|d))+)(\s*\.\.\s*(0|(\d+(\.\d+)?(ms|s|m|h|d))+))?\s*$"
)


class DurationError(ValueError):
    """A duration or range that cannot be read; the message says what would be right."""


def parse_duration(value: object) -> float:
    """Seconds for ``value`` (``"5m"`` → 300.0).

    A bare ``0`` is accepted (it needs no unit); any other bare number is refused
    because ``5`` could mean seconds or minutes and the author should say which.
    """
    if isinstance(value, bool):
        raise DurationError(f"expected a duration such as '5m' or '90s', got {value!r}")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        raise DurationError(
            f"a duration needs a unit: write '{value}s' or '{value}m', not {value}"
        )
    if not isinstance(value, str):
        raise DurationError(f"expected a duration such as '5m' or '90s', got {value!r}")
    text = value.strip().lower()
    if text == "0":
        return 0.0
    if not _DURATION.match(text):
        raise DurationError(
            f"'{value}' is not a duration; use a number and a unit "
            "(ms, s, m, h, d), e.g. '90s', '5m', '1h30m'"
        )
    return sum(float(n) * UNIT_SECONDS[u] for n, u in _PART.findall(text))


@dataclass(frozen=True, slots=True)
class DurationRange:
    """An inclusive range of seconds; ``low == high`` for a fixed duration."""

    low: float
    high: float

    def __str__(self) -> str:
        if self.low == self.high:
            return format_duration(self.low)
        return f"{format_duration(self.low)}..{format_duration(self.high)}"


def parse_range(value: object) -> DurationRange:
    """``"5m..15m"`` → ``DurationRange(300, 900)``; one duration is a fixed range."""
    if isinstance(value, DurationRange):
        return value
    if isinstance(value, str) and ".." in value:
        low_text, _, high_text = value.partition("..")
        low, high = parse_duration(low_text), parse_duration(high_text)
        if low > high:
            raise DurationError(
                f"range '{value}' runs backwards; write the smaller value first"
            )
        return DurationRange(low, high)
    seconds = parse_duration(value)
    return DurationRange(seconds, seconds)


def format_duration(seconds: float) -> str:
    """The shortest readable text for ``seconds`` (``5400`` → ``1h30m``)."""
    if seconds == 0:
        return "0s"
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = int(UNIT_SECONDS[unit])
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
