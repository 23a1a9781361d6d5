"""Inject firing by compare-and-set, ENDEX and the real-world emergency stop."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from socdrill.exercise import injects, journal, lifecycle
from socdrill.exercise.injects import FireResult
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    AuditEntry,
    ExerciseEvent,
    ExerciseState,
    InjectInstance,
    InjectState,
    utcnow,
)

THREADS = 8


def running(world, exercise=None):
    exercise = exercise or world.exercise_a
    start = utcnow() - timedelta(minutes=10)
    lifecycle.schedule(exercise.id, world.manager, start)
    lifecycle.start(exercise.id, world.manager, start)
    return exercise


def count(statement) -> int:
    db.session.commit()  # end our read snapshot: other threads have committed
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
        or 0
    )


def record_effect(instance: InjectInstance) -> None:
    """The inject's effect: one activity row written in the fire transaction."""
    db.session.add(
        Activity(
            exercise_id=instance.exercise_id,
            kind="inject.effect",
            target_id=instance.inject_key,
        )
    )


def concurrently(app, action, threads: int = THREADS) -> list:
    barrier = threading.Barrier(threads)
    results: list = [None] * threads
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[index] = action()
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_eight_threads_firing_one_inject_have_exactly_one_effect(world, app):
    exercise = running(world)
    injects.plan_injects(exercise.id, {"stage-1/phish": 0.0})
    exercise_id = exercise.id
    results = concurrently(
        app,
        lambda: injects.fire_inject(
            exercise_id, "stage-1/phish", utcnow(), record_effect
        ),
    )
    assert sorted(results) == sorted(
        [FireResult.FIRED] + [FireResult.ALREADY_HANDLED] * (THREADS - 1)
    )
    assert count(sa.select(Activity).where(Activity.kind == "inject.effect")) == 1
    assert (
        count(sa.select(ExerciseEvent).where(ExerciseEvent.kind == "inject.fired")) == 1
    )


def test_the_inject_event_goes_to_control_only(world):
    exercise = running(world)
    injects.plan_injects(exercise.id, {"k": 0.0})
    injects.fire_inject(exercise.id, "k", utcnow())
    rooms = db.session.scalars(
        sa.select(ExerciseEvent.room).where(ExerciseEvent.kind == "inject.fired")
    ).all()
    assert rooms == [journal.control_room(exercise.id)]


def test_planning_twice_creates_each_instance_once(world):
    exercise = running(world)
    assert injects.plan_injects(exercise.id, {"a": 0, "b": 60}) == 2
    assert injects.plan_injects(exercise.id, {"a": 0, "b": 60, "c": 90}) == 1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(
            InjectInstance(
                exercise_id=exercise.id, inject_key="a", due_scenario_seconds=5
            )
        )
        db.session.commit()
    db.session.rollback()


def test_a_negative_due_time_is_refused(world):
    with pytest.raises(ValueError, match="before the start"):
        injects.plan_injects(world.exercise_a.id, {"early": -1})


def test_nothing_fires_unless_the_exercise_is_running(world):
    exercise = world.exercise_a
    injects.plan_injects(exercise.id, {"k": 0.0})
    assert injects.fire_inject(exercise.id, "k", utcnow()) == FireResult.NOT_RUNNING
    running(world)
    lifecycle.pause(exercise.id, world.manager, utcnow())
    assert injects.fire_inject(exercise.id, "k", utcnow()) == FireResult.NOT_RUNNING
    lifecycle.resume(exercise.id, world.manager, utcnow())
    assert (
        injects.fire_inject(exercise.id, "nope", utcnow()) == FireResult.UNKNOWN_INJECT
    )
    assert injects.fire_inject(exercise.id, "k", utcnow()) == FireResult.FIRED


def test_due_injects_follow_the_exercise_clock_and_late_ones_are_marked(world):
    exercise = running(world)  # started ten minutes ago at 1x
    injects.plan_injects(exercise.id, {"now": 0, "soon": 599, "later": 900})
    assert injects.due_inject_keys(exercise, utcnow()) == ["now", "soon"]
    injects.fire_inject(exercise.id, "now", utcnow())
    db.session.expire_all()
    fired = db.session.scalar(
        sa.select(InjectInstance).where(InjectInstance.inject_key == "now")
    )
    assert fired.late and fired.lateness_seconds == pytest.approx(600, abs=5)


def test_endex_cancels_pending_injects_and_a_firer_after_it_fails_closed(world):
    exercise = running(world)
    injects.plan_injects(exercise.id, {"a": 0, "b": 5000})
    injects.fire_inject(exercise.id, "a", utcnow())
    lifecycle.endex(exercise.id, world.manager, utcnow(), "done")
    db.session.expire_all()
    states = dict(
        db.session.execute(
            sa.select(InjectInstance.inject_key, InjectInstance.state)
        ).all()
    )
    assert states == {"a": InjectState.FIRED, "b": InjectState.CANCELLED}
    assert injects.fire_inject(exercise.id, "b", utcnow()) == FireResult.NOT_RUNNING


def test_endex_is_idempotent(world, browser):
    exercise = running(world)
    browser.login("manager")
    first = browser.post_json(f"/exercises/{exercise.id}/endex", {"reason": "done"})
    second = browser.post_json(f"/exercises/{exercise.id}/endex", {"reason": "again"})
    assert first.get_json()["changed"] is True
    assert second.status_code == 200 and second.get_json()["changed"] is False
    assert (
        count(sa.select(AuditEntry).where(AuditEntry.action == "exercise.endex")) == 1
    )
    db.session.expire_all()
    assert exercise.endex_reason == "done"


def test_concurrent_endex_ends_once(world, app):
    exercise = running(world)
    exercise_id, manager_id = exercise.id, world.manager.id

    def endex():
        from socdrill.models import User

        return lifecycle.endex(
            exercise_id, db.session.get(User, manager_id), utcnow()
        ).changed

    results = concurrently(app, endex, threads=4)
    assert sorted(results) == [False, False, False, True]
    assert (
        count(sa.select(AuditEntry).where(AuditEntry.action == "exercise.endex")) == 1
    )


def test_endex_discloses_the_drill_to_participants(world, browser):
    exercise = running(world)
    lifecycle.endex(exercise.id, world.manager, utcnow(), "done")
    kinds = db.session.scalars(
        sa.select(ExerciseEvent.kind).where(
            ExerciseEvent.room == journal.participant_room(exercise.id)
        )
    ).all()
    assert "exercise.endex" in kinds
    browser.login("analyst")
    page = browser.get("/dashboard").get_data(as_text=True)
    assert "ENDEX: Drill was an exercise (scenario unit-test-scenario)" in page


def test_a_trusted_agent_may_end_an_unannounced_drill(world, browser):
    from tests.web.conftest import make_exercise

    now = utcnow()
    drill = make_exercise(
        world.tenant_a,
        world.team_a,
        world.manager,
        announced=False,
        window_start=now - timedelta(days=1),
        window_end=now + timedelta(days=3),
    )
    lifecycle.add_trusted_agent(drill.id, world.manager, world.lead, now)
    browser.login("lead")
    response = browser.post_json(f"/exercises/{drill.id}/endex", {"reason": "stop"})
    assert response.status_code == 200
    db.session.expire_all()
    assert drill.state == ExerciseState.ENDED


def test_the_emergency_button_pauses_at_once_and_audits(world, browser):
    exercise = running(world)
    browser.login("analyst")
    response = browser.post("/emergency")
    assert response.status_code == 303
    db.session.expire_all()
    assert exercise.state == ExerciseState.PAUSED
    assert exercise.emergency_at is not None
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "exercise.emergency_stop" in actions and "emergency.pressed" in actions
    page = browser.get("/dashboard").get_data(as_text=True)
    assert "REAL-WORLD EMERGENCY" in page
    # Nothing fires while play is stopped.
    injects.plan_injects(exercise.id, {"k": 0})
    assert injects.fire_inject(exercise.id, "k", utcnow()) == FireResult.NOT_RUNNING
    # Pressing again changes nothing more; control resumes explicitly.
    assert not lifecycle.emergency_stop(exercise.id, world.analyst, utcnow()).changed
    lifecycle.resume(exercise.id, world.manager, utcnow())
    db.session.expire_all()
    assert exercise.state == ExerciseState.RUNNING and exercise.emergency_at is None


def test_the_emergency_button_works_for_a_secret_drill_without_revealing_it(
    world, browser
):
    from tests.web.conftest import make_exercise

    now = utcnow()
    drill = make_exercise(
        world.tenant_a,
        world.team_a,
        world.manager,
        announced=False,
        window_start=now - timedelta(days=1),
        window_end=now + timedelta(days=3),
    )
    lifecycle.schedule(drill.id, world.manager, now)
    lifecycle.approve(drill.id, world.manager2, now)
    lifecycle.add_trusted_agent(drill.id, world.manager, world.lead, now)
    lifecycle.start(drill.id, world.manager, now)
    browser.login("analyst")
    response = browser.post("/emergency", headers={"Accept": "application/json"})
    assert response.get_json()["ok"] is True
    assert "Surprise" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert drill.state == ExerciseState.PAUSED


def test_the_emergency_button_with_no_drill_running_still_records_the_press(
    world, browser
):
    browser.login("hr")
    assert browser.post("/emergency").status_code == 303
    assert (
        count(sa.select(AuditEntry).where(AuditEntry.action == "emergency.pressed"))
        == 1
    )


def test_an_exercise_past_its_maximum_duration_ends_by_itself(world):
    from tests.web.conftest import make_exercise

    drill = make_exercise(
        world.tenant_a, world.team_a, world.manager, max_duration_seconds=3600
    )
    start = utcnow() - timedelta(hours=2)
    lifecycle.schedule(drill.id, world.manager, start)
    lifecycle.start(drill.id, world.manager, start)
    other = running(world)  # started ten minutes ago, eight hours allowed
    assert lifecycle.auto_endex_overdue(utcnow()) == [drill.id]
    db.session.expire_all()
    assert drill.state == ExerciseState.ENDED
    assert drill.endex_reason == "maximum duration reached"
    assert other.state == ExerciseState.RUNNING
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "exercise.endex")
    )
    assert entry.actor_name == "system"
    assert lifecycle.auto_endex_overdue(utcnow()) == []
