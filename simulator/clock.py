"""The exercise clock (SCORING.md B1), computed from stored segments.

A segment starts at a wall-clock instant (POSIX seconds, UTC) and lasts until the next
one starts. While a segment runs, active (analyst) time advances one second per wall
second and scenario time advances ``speed`` seconds per active second; while it is
paused both clocks stand still. Before the first segment both clocks read zero.

Everything here is derived from the segment list alone, so a restarted process that
reads the same rows computes the same times. Pure Python: no Flask, no database.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class ClockError(ValueError):
    """Segments that cannot describe a clock (out of order, bad speed)."""


@dataclass(frozen=True, slots=True)
class ClockSegment:
    """From ``wall_start`` on, the clock runs (or is paused) at ``speed``."""

    wall_start: float
    speed: float = 1.0
    running: bool = True


class ExerciseClock:
    """Active time ``A(w)`` and scenario time ``σ(w)`` of one exercise."""

    def __init__(self, segments: Iterable[ClockSegment] = ()) -> None:
        self._segments: tuple[ClockSegment, ...] = tuple(segments)
        self._starts = [segment.wall_start for segment in self._segments]
        # Active and scenario seconds accumulated when each segment begins.
        self._active_before: list[float] = []
        self._scenario_before: list[float] = []
        active = scenario = 0.0
        previous: ClockSegment | None = None
        for segment in self._segments:
            _check(segment, previous)
            if previous is not None and previous.running:
                elapsed = segment.wall_start - previous.wall_start
                active += elapsed
                scenario += elapsed * previous.speed
            self._active_before.append(active)
            self._scenario_before.append(scenario)
            previous = segment

    @property
    def segments(self) -> Sequence[ClockSegment]:
        return self._segments

    @property
    def started(self) -> bool:
        return bool(self._segments)

    def _index_at(self, wall: float) -> int:
        """Index of the segment in force at ``wall``, or -1 before the first."""
        return bisect_right(self._starts, wall) - 1

    def running_at(self, wall: float) -> bool:
        index = self._index_at(wall)
        return index >= 0 and self._segments[index].running

    def speed_at(self, wall: float) -> float:
        index = self._index_at(wall)
        return self._segments[max(index, 0)].speed if self._segments else 1.0

    def active_seconds_at(self, wall: float) -> float:
        """Active seconds at ``wall``: wall time since the start minus pauses."""
        index = self._index_at(wall)
        if index < 0:
            return 0.0
        segment = self._segments[index]
        base = self._active_before[index]
        return base + (wall - segment.wall_start) if segment.running else base

    def scenario_seconds_at(self, wall: float) -> float:
        """Scenario seconds at ``wall``: the integral of the speed over active time."""
        index = self._index_at(wall)
        if index < 0:
            return 0.0
        segment = self._segments[index]
        base = self._scenario_before[index]
        if not segment.running:
            return base
        return base + (wall - segment.wall_start) * segment.speed

    def wall_time_for_scenario(self, scenario_seconds: float) -> float | None:
        """The first wall instant at which scenario time reaches ``scenario_seconds``.

        ``None`` when the stored segments never get there (the clock is paused
        for good, or the exercise ended first).
        """
        if not self._segments:
            return None
        if scenario_seconds <= 0:
            return self._segments[0].wall_start
        for index, segment in enumerate(self._segments):
            if not segment.running:
                continue
            base = self._scenario_before[index]
            if index + 1 < len(self._segments):
                end = self._scenario_before[index + 1]
                if end < scenario_seconds:
                    continue
            return segment.wall_start + (scenario_seconds - base) / segment.speed
        return None

    def active_seconds_for_scenario(self, scenario_seconds: float) -> float | None:
        """The inverse map of B1 rule 2: active time at which ``σ`` is reached."""
        wall = self.wall_time_for_scenario(scenario_seconds)
        return None if wall is None else self.active_seconds_at(wall)

    def with_segment(self, segment: ClockSegment) -> ExerciseClock:
        """A new clock with ``segment`` appended (pause, resume, speed change)."""
        return ExerciseClock((*self._segments, segment))

    def paused(self, wall: float) -> ExerciseClock:
        return self.with_segment(ClockSegment(wall, self.speed_at(wall), running=False))

    def resumed(self, wall: float) -> ExerciseClock:
        return self.with_segment(ClockSegment(wall, self.speed_at(wall), running=True))

    def at_speed(self, wall: float, speed: float) -> ExerciseClock:
        running = self.running_at(wall) if self._segments else True
        return self.with_segment(ClockSegment(wall, speed, running=running))


def _check(segment: ClockSegment, previous: ClockSegment | None) -> None:
    if not math.isfinite(segment.wall_start):
        raise ClockError(f"segment start must be a finite time, got {segment}")
    if not (math.isfinite(segment.speed) and segment.speed > 0):
        raise ClockError(f"speed must be a positive number, got {segment.speed}")
    if previous is not None and segment.wall_start < previous.wall_start:
        raise ClockError(
            f"segments must be in wall-clock order: {segment.wall_start} "
            f"comes before {previous.wall_start}"
        )
