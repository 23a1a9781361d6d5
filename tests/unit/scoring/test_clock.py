"""B1 clock: pauses and speed changes, checked by hand and against a reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ClockSegment, ExerciseClock, ScoringInputError

T0 = 1_767_254_400.0


def test_a_pause_removes_its_duration_from_active_time():
    clock = ExerciseClock.from_transitions(
        T0, [(T0 + 600, "pause", None), (T0 + 900, "resume", None)]
    )
    assert clock.active_at(T0 + 300) == 300
    assert clock.active_at(T0 + 1200) == 900
    assert clock.scenario_at(T0 + 1200) == 900


def test_an_action_landing_in_a_pause_gets_the_resume_instant():
    clock = ExerciseClock.from_transitions(
        T0, [(T0 + 600, "pause", None), (T0 + 900, "resume", None)]
    )
    assert clock.is_paused(T0 + 700)
    assert clock.active_at(T0 + 700) == clock.active_at(T0 + 900) == 600


def test_compression_speeds_scenario_time_not_active_time():
    clock = ExerciseClock.from_transitions(T0, [(T0 + 600, "speed", 4.0)])
    assert clock.active_at(T0 + 900) == 900
    assert clock.scenario_at(T0 + 900) == 600 + 4 * 300
    # The attacker's schedule maps back with the inverse (rule 2).
    assert clock.active_at_scenario(600 + 4 * 300) == pytest.approx(900)
    assert clock.active_of_simulated(T0 + 1800) == pytest.approx(900)


def test_effective_speed_is_stored_for_like_for_like_comparison():
    clock = ExerciseClock.from_transitions(
        T0, [(T0 + 600, "speed", 3.0)], ended_at=T0 + 1200
    )
    assert clock.effective_speed() == pytest.approx((600 + 1800) / 1200)


def test_a_speed_change_while_paused_applies_on_resume():
    clock = ExerciseClock.from_transitions(
        T0,
        [
            (T0 + 100, "pause", None),
            (T0 + 150, "speed", 2.0),
            (T0 + 200, "resume", None),
        ],
    )
    assert clock.active_at(T0 + 300) == 200
    assert clock.scenario_at(T0 + 300) == 100 + 2 * 100


def test_repeated_pause_and_resume_are_ignored():
    clock = ExerciseClock.from_transitions(
        T0,
        [
            (T0 + 100, "pause", None),
            (T0 + 120, "pause", None),
            (T0 + 200, "resume", None),
            (T0 + 250, "resume", None),
        ],
    )
    assert clock.active_at(T0 + 300) == 200


@pytest.mark.parametrize(
    ("segments", "path"),
    [
        ([], "clock.segments"),
        ([ClockSegment(T0, 0.0)], "clock.segments[0].speed"),
        ([ClockSegment(T0, float("nan"))], "clock.segments[0].speed"),
        ([ClockSegment(T0), ClockSegment(T0)], "clock.segments[1].start"),
        ([ClockSegment(T0, 1.0, True)], "clock.segments[0].paused"),
        ([ClockSegment(float("inf"))], "clock.segments[0].start"),
    ],
)
def test_malformed_clock_rows_are_rejected_with_their_place(segments, path):
    with pytest.raises(ScoringInputError) as err:
        ExerciseClock(segments)
    assert err.value.path == path


def test_an_end_before_the_last_segment_is_rejected():
    with pytest.raises(ScoringInputError, match="clock.ended_at"):
        ExerciseClock([ClockSegment(T0), ClockSegment(T0 + 10, 2.0)], ended_at=T0)


def test_an_unknown_clock_event_is_rejected():
    with pytest.raises(ScoringInputError, match="unknown clock event 'rewind'"):
        ExerciseClock.from_transitions(T0, [(T0 + 1, "rewind", None)])


transitions = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=10_000),
        st.sampled_from(["pause", "resume", "speed"]),
        st.sampled_from([0.5, 1.0, 2.0, 4.0, 10.0]),
    ),
    max_size=12,
)


def reference(events, wall):
    """Step through the control events one second at a time (the integral)."""
    paused, speed = False, 1.0
    active = scenario = 0.0
    by_time = {}
    for at, kind, value in sorted(events, key=lambda e: e[0]):
        by_time.setdefault(at, []).append((kind, value))
    for second in range(wall):
        for kind, value in by_time.get(second, []):
            if kind == "pause":
                paused = True
            elif kind == "resume":
                paused = False
            else:
                speed = value
        if not paused:
            active += 1
            scenario += speed
    return active, scenario


@settings(max_examples=150, deadline=None)
@given(transitions, st.lists(st.integers(0, 11_000), min_size=2, max_size=8))
def test_active_time_never_goes_back_and_matches_the_reference_integral(events, walls):
    clock = ExerciseClock.from_transitions(
        T0, [(T0 + at, kind, value) for at, kind, value in events]
    )
    previous = (-1.0, -1.0)
    for w in sorted(walls):
        active, scenario = clock.active_at(T0 + w), clock.scenario_at(T0 + w)
        assert (active, scenario) == pytest.approx(reference(events, w))
        assert active >= previous[0] and scenario >= previous[1]
        previous = (active, scenario)
        # The inverse map lands on the same active instant.
        assert clock.active_at_scenario(scenario) == pytest.approx(active, abs=1e-6)
