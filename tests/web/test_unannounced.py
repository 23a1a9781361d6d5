"""Unannounced drills: seeded start inside the window and outside blackouts, a
second approver, a trusted agent, and start only inside the window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socdrill.exercise import lifecycle
from socdrill.exercise.lifecycle import LifecycleError, NotPermitted
from socdrill.exercise.scheduling import SchedulingError, pick_start
from socdrill.extensions import db
from socdrill.models import ExerciseState
from tests.web.conftest import make_exercise

WINDOW_START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**63 - 1),
    offset_s=st.integers(min_value=0, max_value=10 * 86400),
    length_h=st.integers(min_value=1, max_value=24 * 40),
    duration_h=st.integers(min_value=1, max_value=12),
    blackout_days=st.lists(st.integers(min_value=0, max_value=45), max_size=20),
)
def test_the_start_is_inside_the_window_outside_blackouts_and_repeatable(
    seed, offset_s, length_h, duration_h, blackout_days
):
    window_start = WINDOW_START + timedelta(seconds=offset_s, microseconds=offset_s % 7)
    window_end = window_start + timedelta(hours=length_h)
    duration = timedelta(hours=duration_h)
    blackouts = {window_start.date() + timedelta(days=d) for d in blackout_days}
    try:
        start = pick_start(seed, window_start, window_end, blackouts, duration)
    except SchedulingError:
        # Only when no allowed instant exists at all.
        latest = window_end - duration
        day, free = window_start.date(), False
        while day <= latest.date():
            free = free or day not in blackouts
            day += timedelta(days=1)
        assert latest < window_start or not free
        return
    assert window_start <= start <= window_end - duration
    assert start.date() not in blackouts
    assert start == pick_start(seed, window_start, window_end, blackouts, duration)


def test_different_seeds_spread_over_the_window():
    window_end = WINDOW_START + timedelta(days=10)
    starts = {
        pick_start(seed, WINDOW_START, window_end, set(), timedelta(hours=2))
        for seed in range(50)
    }
    assert len(starts) == 50


@pytest.mark.parametrize(
    ("end", "blackouts", "message"),
    [
        (WINDOW_START + timedelta(hours=1), set(), "shorter than the maximum"),
        (WINDOW_START - timedelta(hours=1), set(), "end after it starts"),
        (
            WINDOW_START + timedelta(days=2),
            {date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)},
            "blackout",
        ),
        (WINDOW_START + timedelta(days=400), set(), "366 days"),
    ],
)
def test_impossible_windows_are_explained(end, blackouts, message):
    with pytest.raises(SchedulingError, match=message):
        pick_start(1, WINDOW_START, end, blackouts, timedelta(hours=2))


@pytest.fixture
def secret_drill(world):
    now = datetime.now(UTC)
    return make_exercise(
        world.tenant_a,
        world.team_a,
        world.manager,
        name="Surprise",
        announced=False,
        window_start=now - timedelta(days=1),
        window_end=now + timedelta(days=10),
        max_duration_seconds=3600,
        blackout_dates=[(now + timedelta(days=3)).date().isoformat()],
        seed=42,
    )


def test_scheduling_picks_and_stores_the_start(world, secret_drill):
    outcome = lifecycle.schedule(secret_drill.id, world.manager, datetime.now(UTC))
    assert outcome.state == ExerciseState.SCHEDULED
    db.session.expire_all()
    start = secret_drill.scheduled_start
    assert secret_drill.window_start <= start <= secret_drill.window_end
    assert start.date().isoformat() not in secret_drill.blackout_dates


def test_no_start_without_a_second_approver_and_a_trusted_agent(world, secret_drill):
    now = datetime.now(UTC)
    lifecycle.schedule(secret_drill.id, world.manager, now)
    with pytest.raises(LifecycleError, match="second manager"):
        lifecycle.start(secret_drill.id, world.manager, now)
    with pytest.raises(NotPermitted, match="cannot approve their own"):
        lifecycle.approve(secret_drill.id, world.manager, now)
    lifecycle.approve(secret_drill.id, world.manager2, now)
    with pytest.raises(LifecycleError, match="already approved"):
        lifecycle.approve(secret_drill.id, world.manager2, now)
    with pytest.raises(LifecycleError, match="trusted agent"):
        lifecycle.start(secret_drill.id, world.manager, now)
    lifecycle.add_trusted_agent(secret_drill.id, world.manager, world.lead, now)
    assert (
        lifecycle.start(secret_drill.id, world.manager, now).state
        == ExerciseState.RUNNING
    )


def test_an_outsider_cannot_be_a_trusted_agent(world, secret_drill):
    with pytest.raises(LifecycleError, match="not an active member"):
        lifecycle.add_trusted_agent(
            secret_drill.id, world.manager, world.analyst_b, datetime.now(UTC)
        )


def test_no_start_outside_the_window(world):
    now = datetime.now(UTC)
    later = make_exercise(
        world.tenant_a,
        world.team_a,
        world.manager,
        announced=False,
        window_start=now + timedelta(days=5),
        window_end=now + timedelta(days=9),
    )
    lifecycle.schedule(later.id, world.manager, now)
    lifecycle.approve(later.id, world.manager2, now)
    lifecycle.add_trusted_agent(later.id, world.manager, world.lead, now)
    with pytest.raises(LifecycleError, match="outside the exercise window"):
        lifecycle.start(later.id, world.manager, now)


def test_approval_needs_a_manager_not_just_anyone(world, secret_drill):
    with pytest.raises(NotPermitted):
        lifecycle.approve(secret_drill.id, world.lead, datetime.now(UTC))


def test_approvals_work_over_http_for_the_second_manager(world, secret_drill, browser):
    browser.login("manager2")
    response = browser.post_json(f"/exercises/{secret_drill.id}/approve")
    assert response.status_code == 200
    browser.login("manager")
    response = browser.post_json(f"/exercises/{secret_drill.id}/approve")
    assert response.status_code == 403
    assert "second manager" in response.get_json()["error"]
