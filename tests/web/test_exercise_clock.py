"""The exercise clock (SCORING.md B1): pure segments and the stored rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.clock import ClockError, ClockSegment, ExerciseClock
from socdrill.exercise import lifecycle
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db

# (gap in milliseconds since the previous change, change)
changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3_600_000),
        st.one_of(
            st.just(("pause",)),
            st.just(("resume",)),
            st.tuples(st.just("speed"), st.sampled_from([0.5, 1, 2, 10, 60, 600])),
        ),
    ),
    max_size=25,
)


def build(start_ms: int, steps):
    """Apply the changes through the clock's API; keep them for the reference."""
    clock = ExerciseClock([ClockSegment(start_ms / 1000, 1.0, True)])
    events = [(start_ms, "start", 1)]
    now = start_ms
    for gap, change in steps:
        now += gap
        wall = now / 1000
        if change[0] == "pause":
            clock = clock.paused(wall)
            events.append((now, "pause", None))
        elif change[0] == "resume":
            clock = clock.resumed(wall)
            events.append((now, "resume", None))
        else:
            clock = clock.at_speed(wall, change[1])
            events.append((now, "speed", change[1]))
    return clock, events, now


def reference(events, at_ms):
    """Exact integral in milliseconds: replay the changes one by one."""
    running, speed = False, Fraction(1)
    active = scenario = Fraction(0)
    previous = None
    for when, kind, value in events:
        if when > at_ms:
            break
        if previous is not None and running:
            active += when - previous
            scenario += (when - previous) * speed
        previous = when
        if kind in ("start", "resume"):
            running = True
        elif kind == "pause":
            running = False
        if kind in ("start", "speed"):
            speed = Fraction(value)
    if previous is not None and running:
        active += at_ms - previous
        scenario += (at_ms - previous) * speed
    return active / 1000, scenario / 1000


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000),
    steps=changes,
    probes=st.lists(st.integers(min_value=-10_000, max_value=100_000_000), max_size=20),
)
def test_clock_never_goes_back_and_matches_the_reference_integral(start, steps, probes):
    clock, events, end = build(start, steps)
    times = sorted({start + p for p in probes} | {e[0] for e in events} | {end + 1})
    last_active = last_scenario = -1.0
    for at_ms in times:
        wall = at_ms / 1000
        active, scenario = (
            clock.active_seconds_at(wall),
            clock.scenario_seconds_at(wall),
        )
        expected_active, expected_scenario = reference(events, at_ms)
        assert active == pytest.approx(float(expected_active), abs=1e-3)
        assert scenario == pytest.approx(float(expected_scenario), rel=1e-9, abs=1e-3)
        assert active >= last_active and scenario >= last_scenario
        last_active, last_scenario = active, scenario


@settings(max_examples=200, deadline=None)
@given(steps=changes, target=st.floats(min_value=0, max_value=1e6))
def test_the_inverse_map_finds_the_first_instant_scenario_time_is_reached(
    steps, target
):
    clock, _events, _end = build(1_700_000_000_000, steps)
    wall = clock.wall_time_for_scenario(target)
    if wall is None:
        # Never reached: the clock ends paused below the target.
        assert not clock.running_at(1e12)
        assert clock.scenario_seconds_at(1e12) < target
        return
    assert clock.scenario_seconds_at(wall) == pytest.approx(target, rel=1e-9, abs=1e-3)
    assert clock.scenario_seconds_at(wall - 0.01) <= target + 1e-6


def test_a_pause_freezes_both_clocks_and_speed_scales_only_scenario_time():
    clock = ExerciseClock([ClockSegment(0, 1.0, True)])
    clock = clock.paused(100).resumed(160).at_speed(200, 10)
    assert clock.active_seconds_at(130) == 100  # frozen during the pause
    assert clock.scenario_seconds_at(130) == 100
    assert clock.active_seconds_at(210) == 100 + 40 + 10
    assert clock.scenario_seconds_at(210) == 100 + 40 + 100
    assert clock.active_seconds_for_scenario(240) == 150


def test_before_the_start_both_clocks_read_zero():
    clock = ExerciseClock([ClockSegment(1000, 5.0, True)])
    assert clock.active_seconds_at(10) == 0 and clock.scenario_seconds_at(10) == 0
    assert ExerciseClock().scenario_seconds_at(1e9) == 0


@pytest.mark.parametrize(
    "segments",
    [
        [ClockSegment(10, 1.0), ClockSegment(5, 1.0)],
        [ClockSegment(0, 0.0)],
        [ClockSegment(0, -2.0)],
        [ClockSegment(float("nan"), 1.0)],
        [ClockSegment(0, float("inf"))],
    ],
)
def test_impossible_segments_are_refused(segments):
    with pytest.raises(ClockError):
        ExerciseClock(segments)


def test_the_clock_of_an_exercise_is_rebuilt_from_its_rows(world):
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    exercise_id = world.exercise_a.id
    lifecycle.schedule(exercise_id, world.manager, start)
    lifecycle.start(exercise_id, world.manager, start)
    lifecycle.set_speed(exercise_id, world.manager, 4.0, start + timedelta(seconds=60))
    lifecycle.pause(exercise_id, world.manager, start + timedelta(seconds=90))
    lifecycle.resume(exercise_id, world.manager, start + timedelta(seconds=150))
    db.session.expire_all()
    clock = clock_for(world.exercise_a)  # as a restarted process would read it
    at = (start + timedelta(seconds=160)).timestamp()
    assert clock.active_seconds_at(at) == pytest.approx(60 + 30 + 10)
    assert clock.scenario_seconds_at(at) == pytest.approx(60 + 30 * 4 + 10 * 4)
