"""When an unannounced drill starts: a seeded pick inside its window.

The start must leave room for the whole maximum duration before the window closes
and must not fall on a blackout date (a UTC calendar day). The same seed and window
always give the same start, so the pick can be recomputed and audited.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

MAX_WINDOW = timedelta(days=366)


class SchedulingError(ValueError):
    """No start time is possible; the message says what to change."""


def allowed_intervals(
    window_start: datetime,
    window_end: datetime,
    blackout_dates: Iterable[date],
    max_duration: timedelta,
) -> list[tuple[datetime, datetime]]:
    """The stretches of time in which the drill may start."""
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise SchedulingError("window times must carry a time zone")
    if window_end <= window_start:
        raise SchedulingError("the window must end after it starts")
    if window_end - window_start > MAX_WINDOW:
        raise SchedulingError("the window may be at most 366 days long")
    latest = window_end - max_duration
    if latest < window_start:
        raise SchedulingError(
            "the window is shorter than the maximum duration; widen the window "
            "or shorten the maximum duration"
        )
    blackouts = set(blackout_dates)
    intervals: list[tuple[datetime, datetime]] = []
    cursor = window_start.astimezone(UTC)
    while cursor <= latest:
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(), UTC)
        end = min(next_midnight, latest)
        if cursor.date() not in blackouts and end > cursor:
            intervals.append((cursor, end))
        cursor = next_midnight
    if not intervals and latest.date() not in blackouts and latest == window_start:
        intervals.append((latest, latest))
    return intervals


def pick_start(
    seed: int,
    window_start: datetime,
    window_end: datetime,
    blackout_dates: Iterable[date],
    max_duration: timedelta,
) -> datetime:
    """The start of an unannounced drill, drawn uniformly from the allowed time."""
    intervals = allowed_intervals(
        window_start, window_end, blackout_dates, max_duration
    )
    total = sum((end - start).total_seconds() for start, end in intervals)
    if not intervals:
        raise SchedulingError(
            "every day of the window is a blackout date; move the window or "
            "remove a blackout date"
        )
    offset = random.Random(seed).random() * total
    for index, (start, end) in enumerate(intervals):
        length = (end - start).total_seconds()
        if offset < length or index == len(intervals) - 1:
            # Intervals are half-open: the end may be the midnight of a blackout day.
            seconds = min(offset, max(length - 0.001, 0.0))
            return start + timedelta(seconds=seconds)
        offset -= length
    raise AssertionError("unreachable: the last interval always returns")


def parse_blackout_dates(values: Iterable[str]) -> list[date]:
    """ISO dates (YYYY-MM-DD); a wrong one is named in the error."""
    parsed: list[date] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            parsed.append(date.fromisoformat(text))
        except ValueError:
            raise SchedulingError(
                f"blackout date {text!r} is not a date; write it as YYYY-MM-DD"
            ) from None
    return sorted(set(parsed))
