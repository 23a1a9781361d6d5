"""The lifecycle draft → scheduled → running ⇄ paused → ended → reviewed, over
HTTP as the manager sees it, with one audit row and one journal event per step."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from socdrill.exercise import journal, lifecycle
from socdrill.exercise.lifecycle import LifecycleError
from socdrill.extensions import db
from socdrill.models import (
    AuditEntry,
    ExerciseClockSegment,
    ExerciseEvent,
    ExerciseState,
    utcnow,
)


def audit_for(exercise_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(
                AuditEntry.target_type == "exercises",
                AuditEntry.target_id == str(exercise_id),
            )
            .order_by(AuditEntry.id)
        )
    )


def state_of(exercise) -> ExerciseState:
    db.session.expire_all()
    return exercise.state


def test_a_manager_walks_an_exercise_through_its_whole_life(world, browser):
    browser.login("manager")
    exercise_id = world.exercise_a.id
    steps = [
        ("schedule", {}, ExerciseState.SCHEDULED),
        ("start", {}, ExerciseState.RUNNING),
        ("speed", {"speed": "10"}, ExerciseState.RUNNING),
        ("pause", {}, ExerciseState.PAUSED),
        ("resume", {}, ExerciseState.RUNNING),
        ("endex", {"reason": "drill complete"}, ExerciseState.ENDED),
        ("review", {}, ExerciseState.REVIEWED),
    ]
    for action, body, expected in steps:
        response = browser.post_json(f"/exercises/{exercise_id}/{action}", body)
        assert response.status_code == 200, (action, response.get_json())
        assert response.get_json()["state"] == expected.value
        assert state_of(world.exercise_a) == expected
    assert audit_for(exercise_id) == [
        "exercise.create",
        "exercise.schedule",
        "exercise.start",
        "exercise.speed",
        "exercise.pause",
        "exercise.resume",
        "exercise.endex",
        "exercise.review",
    ]
    segments = db.session.scalars(
        sa.select(ExerciseClockSegment)
        .where(ExerciseClockSegment.exercise_id == exercise_id)
        .order_by(ExerciseClockSegment.seq)
    ).all()
    assert [(s.running, s.speed_factor) for s in segments] == [
        (True, 1.0),
        (True, 10.0),
        (False, 10.0),
        (True, 10.0),
        (False, 10.0),
    ]
    seqs = db.session.scalars(
        sa.select(ExerciseEvent.seq)
        .where(ExerciseEvent.room == journal.participant_room(exercise_id))
        .order_by(ExerciseEvent.seq)
    ).all()
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free per room


def test_the_browser_form_path_redirects_back_with_a_message(world, browser):
    browser.login("manager")
    response = browser.post(f"/exercises/{world.exercise_a.id}/schedule")
    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "is scheduled" in page


@pytest.mark.parametrize(
    ("action", "from_state"),
    [
        ("start", "draft"),
        ("pause", "draft"),
        ("resume", "draft"),
        ("review", "draft"),
        ("speed", "draft"),
    ],
)
def test_a_transition_from_the_wrong_state_is_refused_and_changes_nothing(
    world, browser, action, from_state
):
    browser.login("manager")
    exercise_id = world.exercise_a.id
    before = audit_for(exercise_id)
    response = browser.post_json(f"/exercises/{exercise_id}/{action}", {"speed": "2"})
    assert response.status_code == 409
    assert from_state in response.get_json()["error"]
    assert state_of(world.exercise_a) == ExerciseState.DRAFT
    assert audit_for(exercise_id) == before


@pytest.mark.parametrize("speed", ["0", "-1", "1001", "fast", "nan", "inf"])
def test_a_bad_speed_is_refused(world, browser, speed):
    browser.login("manager")
    exercise_id = world.exercise_a.id
    browser.post_json(f"/exercises/{exercise_id}/schedule")
    browser.post_json(f"/exercises/{exercise_id}/start")
    response = browser.post_json(f"/exercises/{exercise_id}/speed", {"speed": speed})
    assert response.status_code == 409
    db.session.expire_all()
    assert world.exercise_a.speed_factor == 1.0


def test_players_may_watch_but_not_steer(world, browser):
    browser.login("analyst")
    exercise_id = world.exercise_a.id
    assert browser.get(f"/exercises/{exercise_id}").status_code == 200
    for action in ("schedule", "start", "pause", "review"):
        assert browser.post(f"/exercises/{exercise_id}/{action}").status_code == 403
    # ENDEX is open to players only as trusted agents.
    response = browser.post_json(f"/exercises/{exercise_id}/endex")
    assert response.status_code == 403
    assert state_of(world.exercise_a) == ExerciseState.DRAFT


def test_creating_an_exercise_from_the_library_keeps_a_snapshot(world, browser, app):
    library = app.config["SCENARIOS_DIR"]
    browser.login("manager")
    app.config["SCENARIOS_DIR"] = str(browser_library(app))
    response = browser.post(
        "/exercises/new",
        {
            "name": "Friday drill",
            "scenario": "tiny.yml",
            "tenant_id": world.tenant_a.id,
            "team_id": world.team_a.id,
            "announced": "1",
            "max_duration_minutes": "90",
            "speed_factor": "2",
        },
    )
    assert response.status_code == 303, response.data
    app.config["SCENARIOS_DIR"] = library
    rows = browser.get("/api/v1/exercises").get_json()["exercises"]
    created = next(row for row in rows if row["name"] == "Friday drill")
    assert created["scenario_id"] == "tiny" and created["speed_factor"] == 2.0


def browser_library(app):
    from pathlib import Path

    folder = Path(app.instance_path) / "library"
    folder.mkdir(exist_ok=True)
    (folder / "tiny.yml").write_text("id: tiny\ntitle: Tiny\n")
    (folder / "broken.yml").write_text("id: [unclosed\n")
    (folder / "no-id.yml").write_text("title: no id\n")
    (folder / "huge.yml").write_text("id: huge\n" + "#" * 600_000 + "\n")
    return folder


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scenario": "broken.yml"}, "not valid YAML"),
        ({"scenario": "no-id.yml"}, "'id'"),
        ({"scenario": "huge.yml"}, "over the limit"),
        ({"scenario": "../../etc/passwd"}, "not in the scenario library"),
        ({"name": "  "}, "needs a name"),
        ({"team_id": "999"}, "in your scope"),
        ({"max_duration_minutes": "0"}, "maximum duration"),
        ({"speed_factor": "abc"}, "must be a number"),
        ({"announced": "", "window_start": "", "window_end": ""}, "needs a window"),
        (
            {"window_start": "2025-01-02T00:00", "window_end": "2025-01-01T00:00"},
            "end after it starts",
        ),
        ({"window_start": "yesterday", "window_end": "2025-01-01T00:00"}, "not a date"),
        ({"blackout_dates": "2025-13-01"}, "YYYY-MM-DD"),
        ({"catch_up_policy": "whenever"}, "catch-up policy"),
        ({"seed": "-5"}, "seed"),
    ],
)
def test_bad_exercise_plans_are_refused_with_a_reason(
    world, browser, app, fields, message
):
    browser.login("manager")
    app.config["SCENARIOS_DIR"] = str(browser_library(app))
    body = {
        "name": "Drill",
        "scenario": "tiny.yml",
        "tenant_id": world.tenant_a.id,
        "team_id": world.team_a.id,
        "announced": "1",
        **fields,
    }
    before = len(browser.get("/api/v1/exercises").get_json()["exercises"])
    response = browser.post_json("/exercises/new", body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert len(browser.get("/api/v1/exercises").get_json()["exercises"]) == before


def test_a_team_must_monitor_the_tenant_it_drills_on(world):
    from socdrill.exercise.planning import PlanningError
    from tests.web.conftest import make_exercise

    with pytest.raises(PlanningError, match="does not monitor"):
        make_exercise(world.tenant_b, world.team_a, world.manager)


def test_lifecycle_errors_change_nothing(world):
    with pytest.raises(LifecycleError):
        lifecycle.review(world.exercise_a.id, world.manager, utcnow())
    assert state_of(world.exercise_a) == ExerciseState.DRAFT
