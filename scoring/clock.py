"""The exercise clock of B1: wall time → active (analyst) time and scenario time.

An exercise's clock is stored as segments, each starting at a wall instant with a speed
factor (scenario seconds per active second) and either running or paused; the last
segment lasts until the end. Active time ``A`` counts running seconds only, scenario
time ``σ`` integrates the speed factor over them. A pause freezes both, so an action
landing inside a pause gets the resume instant's active time (rule 3) for free.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scoring.errors import ScoringInputError


@dataclass(frozen=True, slots=True)
class ClockSegment:
    """One stored clock row: from ``start`` (wall POSIX seconds) on, this state."""

    start: float
    speed: float = 1.0
    paused: bool = False


class ExerciseClock:
    """Converts wall instants to active and scenario seconds since the exercise start.

    ``scenario_origin`` is the simulated POSIX time at scenario second 0, i.e. the
    ``ts`` the simulator gives an event at the start (defaults to the wall start).
    Before the first segment time runs at speed 1 (negative seconds); after ``ended_at``
    the last segment simply continues, and callers drop what lies past the end.
    """

    __slots__ = (
        "_active0",
        "_running",
        "_scenario0",
        "_speeds",
        "_starts",
        "ended_at",
        "scenario_origin",
        "segments",
    )

    def __init__(
        self,
        segments: Sequence[ClockSegment],
        ended_at: float | None = None,
        scenario_origin: float | None = None,
    ) -> None:
        if not segments:
            raise ScoringInputError("clock.segments", "at least the start segment")
        previous = -math.inf
        for i, seg in enumerate(segments):
            where = f"clock.segments[{i}]"
            if not math.isfinite(seg.start):
                raise ScoringInputError(f"{where}.start", "must be a finite time")
            if seg.start <= previous:
                raise ScoringInputError(
                    f"{where}.start", "segments must start in strictly increasing order"
                )
            if not (math.isfinite(seg.speed) and seg.speed > 0):
                raise ScoringInputError(
                    f"{where}.speed",
                    f"speed factor must be a positive number, got {seg.speed!r} "
                    "(pause with paused=true instead of speed 0)",
                )
            previous = seg.start
        if segments[0].paused:
            raise ScoringInputError("clock.segments[0].paused", "cannot start paused")
        if ended_at is not None and not (
            math.isfinite(ended_at) and ended_at >= segments[-1].start
        ):
            raise ScoringInputError(
                "clock.ended_at", "must be finite and not before the last segment"
            )
        self.segments = tuple(segments)
        self.ended_at = ended_at
        self.scenario_origin = (
            segments[0].start if scenario_origin is None else scenario_origin
        )
        self._starts = [s.start for s in segments]
        self._speeds = [s.speed for s in segments]
        self._running = [not s.paused for s in segments]
        active, scenario = [0.0], [0.0]
        for seg, nxt in zip(segments, segments[1:], strict=False):
            span = nxt.start - seg.start if not seg.paused else 0.0
            active.append(active[-1] + span)
            scenario.append(scenario[-1] + span * seg.speed)
        self._active0 = active
        self._scenario0 = scenario

    @classmethod
    def from_transitions(
        cls,
        started_at: float,
        transitions: Iterable[tuple[float, str, float | None]] = (),
        *,
        speed: float = 1.0,
        ended_at: float | None = None,
        scenario_origin: float | None = None,
    ) -> ExerciseClock:
        """Build the segments from control events ``(wall, "pause"|"resume"|"speed",
        value)``; a repeated pause or resume is ignored, a speed change while paused
        applies on resume."""
        segments = [ClockSegment(started_at, speed, False)]
        paused = False
        for i, (at, kind, value) in enumerate(sorted(transitions, key=lambda t: t[0])):
            if kind == "pause":
                new_paused, new_speed = True, speed
            elif kind == "resume":
                new_paused, new_speed = False, speed
            elif kind == "speed":
                if value is None:
                    raise ScoringInputError(f"transitions[{i}]", "speed needs a value")
                new_paused, new_speed = paused, float(value)
            else:
                raise ScoringInputError(
                    f"transitions[{i}]",
                    f"unknown clock event {kind!r}; use pause, resume or speed",
                )
            if (new_paused, new_speed) == (paused, speed):
                continue
            paused, speed = new_paused, new_speed
            if at == segments[-1].start:
                segments[-1] = ClockSegment(at, speed, paused)
            else:
                segments.append(ClockSegment(at, speed, paused))
        return cls(segments, ended_at=ended_at, scenario_origin=scenario_origin)

    def _segment(self, wall: float) -> int:
        return bisect_right(self._starts, wall) - 1

    def active_at(self, wall: float) -> float:
        """Active seconds since the start at wall instant ``wall`` (A(w) of B1)."""
        i = self._segment(wall)
        if i < 0:
            return wall - self._starts[0]
        if not self._running[i]:
            return self._active0[i]
        return self._active0[i] + (wall - self._starts[i])

    def scenario_at(self, wall: float) -> float:
        """Scenario seconds since the start at wall instant ``wall`` (σ(w) of B1)."""
        i = self._segment(wall)
        if i < 0:
            return (wall - self._starts[0]) * self._speeds[0]
        if not self._running[i]:
            return self._scenario0[i]
        return self._scenario0[i] + (wall - self._starts[i]) * self._speeds[i]

    def is_paused(self, wall: float) -> bool:
        """True while a pause is in force (actions then land at the resume instant)."""
        i = self._segment(wall)
        return i >= 0 and not self._running[i]

    def active_at_scenario(self, scenario: float) -> float:
        """Inverse map: the active second at which scenario time reaches ``scenario``.

        Used for the attacker's schedule and damage (rule 2), which run in scenario
        time. Scenario time only grows while the clock runs, so the inverse is the
        earliest active instant.
        """
        if scenario <= 0:
            return scenario / self._speeds[0]
        best = 0  # the first segment always runs
        for i, running in enumerate(self._running):
            if not running:
                continue
            if self._scenario0[i] > scenario:
                break
            best = i
        return (
            self._active0[best]
            + (scenario - self._scenario0[best]) / self._speeds[best]
        )

    def scenario_at_active(self, active: float) -> float:
        """Scenario seconds reached after ``active`` active seconds."""
        if active <= 0:
            return active * self._speeds[0]
        best = 0
        for i, running in enumerate(self._running):
            if running and self._active0[i] <= active:
                best = i
        return (
            self._scenario0[best] + (active - self._active0[best]) * self._speeds[best]
        )

    def active_of_simulated(self, ts: float) -> float:
        """Active seconds of an event stamped with simulated time ``ts`` (Event.ts)."""
        return self.active_at_scenario(ts - self.scenario_origin)

    @property
    def active_end(self) -> float | None:
        """T_end in active seconds, or None while the exercise runs."""
        return None if self.ended_at is None else self.active_at(self.ended_at)

    def effective_speed(self) -> float:
        """c_eff: scenario seconds per active second over the whole run (stored with
        every result so only like runs are compared)."""
        end = self.ended_at if self.ended_at is not None else self._starts[-1]
        active = self.active_at(end)
        return self._speeds[0] if active <= 0 else self.scenario_at(end) / active

    def to_dict(self) -> dict[str, object]:
        """Plain copy of the stored rows."""
        return {
            "segments": [
                {"start": s.start, "speed": s.speed, "paused": s.paused}
                for s in self.segments
            ],
            "ended_at": self.ended_at,
            "scenario_origin": self.scenario_origin,
        }
