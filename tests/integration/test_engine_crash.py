"""Kill -9 of a real ``socdrill engine`` process, then a restart: nothing is lost
and nothing happens twice.

Each test plays a short scenario at 60x in a temporary instance. The engine runs
as a subprocess; a named failpoint (``SOCDRILL_FAILPOINT``) makes it end with
``os._exit(137)`` right after an inject is claimed, right after a commit (before
live updates go out) or inside ENDEX; another test kills it with SIGKILL at a
random moment. A second engine then finishes the drill, and the database and the
SIEM must hold exactly what a run without the crash holds: every due inject fired
once, every event of a fired stage stored once, every room's sequence gap-free.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from simulator.environment import Organisation
from simulator.scenario import load_scenario
from socdrill.database import write_transaction
from socdrill.engine.delivery import siem_store
from socdrill.engine.play import rebuild
from socdrill.engine.runtime import uid_prefix
from socdrill.exercise import lifecycle
from socdrill.exercise.planning import create_draft, snapshot_scenario
from socdrill.extensions import db
from socdrill.models import (
    AuditEntry,
    EngineRuntime,
    Exercise,
    ExerciseEvent,
    ExerciseState,
    InjectInstance,
    InjectState,
    Role,
    utcnow,
)
from tests.conftest import ROOT
from tests.web.conftest import _make_app, make_team, make_tenant, make_user

SPEED = 60.0
SEED = 4242
# Five stages two scenario minutes apart and a crisis message: ten seconds at 60x.
SCENARIO = (
    """\
id: crash-drill
version: 1
title: Crash drill
summary: Five quick stages on one workstation, for crash tests.
scopes: [windows]
difficulty: easy
duration: 20m
environment:
  needs: {workstations: 2}
  roles:
    victim: {user: {}}
    victim_ws: {host: {kind: workstation, owner: victim}}
stages:
"""
    + "".join(
        f"""  - id: step-{n}
    at: {2 * n}m
    technique: T1059.001
    tier: P3
    entities: [victim_ws]
    events:
      - sensor: sysmon
        kind: process_creation
        host: "{{{{ victim_ws }}}}"
        repeat: {{count: 5, every: 10s}}
        fields:
          Image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe'
          CommandLine: 'powershell.exe -nop -c "Get-Date; # step {n}"'
          User: "{{{{ victim.domain_user }}}}"
"""
        for n in range(5)
    )
    + """crisis:
  - id: press-call
    at: 5m
    channel: media
    from: A reporter
    message: Is something going on at your company?
"""
)
END_SCENARIO_SECONDS = 10 * 60  # the last stage's last event is at 8m40s
ENGINE = Path(sys.executable).parent / "socdrill"
pytestmark = pytest.mark.slow


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A temporary instance with its schema and a tenant, team and manager."""
    app = _make_app(tmp_path, monkeypatch, ENGINE_NOISE_SCALE=0.0)
    with app.app_context():
        db.create_all()
        tenant = make_tenant("crashco")
        team = make_team("Crash team", tenant)
        make_user("boss", Role.MANAGER, team=team, can_launch=True)
        yield app, tmp_path / "instance"
        db.session.remove()
        db.engine.dispose()


def new_drill(max_duration: int = 8 * 3600) -> int:
    from socdrill.models import Team, Tenant, User

    with write_transaction():
        exercise = create_draft(
            actor=db.session.scalar(sa.select(User).where(User.username == "boss")),
            name="Crash drill",
            tenant=db.session.scalar(sa.select(Tenant)),
            team=db.session.scalar(sa.select(Team)),
            scenario=snapshot_scenario(SCENARIO, source="crash", max_bytes=65536),
            seed=SEED,
            speed_factor=SPEED,
            max_duration_seconds=max_duration,
        )
    manager = db.session.scalar(sa.select(User).where(User.username == "boss"))
    now = utcnow()
    lifecycle.schedule(exercise.id, manager, now)
    lifecycle.start(exercise.id, manager, now)
    return exercise.id


def spawn(folder: Path, failpoint: str | None = None) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SOCDRILL_INSTANCE": str(folder),
        "SOCDRILL_ENGINE_TICK_SECONDS": "0.2",
        "SOCDRILL_ENGINE_NOISE_SCALE": "0",
    }
    env.pop("SOCDRILL_FAILPOINT", None)
    if failpoint:
        env["SOCDRILL_FAILPOINT"] = failpoint
    return subprocess.Popen(
        [str(ENGINE), "engine"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def wait_exit(process: subprocess.Popen[str], timeout: float = 60) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("the engine did not reach its failpoint in time")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.commit()
        if condition():
            return
        time.sleep(0.3)
    pytest.fail("the engine did not finish the drill in time")


def delivered(exercise_id: int) -> float:
    runtime = db.session.get(EngineRuntime, exercise_id)
    if runtime is None:
        return 0.0
    db.session.refresh(runtime)
    return runtime.delivered_until


def finish(folder: Path, exercise_id: int) -> None:
    """A fresh engine plays the drill to its end, then stops."""
    engine = spawn(folder)
    try:
        wait_until(lambda: delivered(exercise_id) >= END_SCENARIO_SECONDS)
    finally:
        stop(engine)


def check_invariants(app, exercise_id: int) -> None:
    """Fired = due, none twice, SIEM = a crash-free play, sequences gap-free."""
    db.session.commit()
    runtime = db.session.get(EngineRuntime, exercise_id)
    db.session.refresh(runtime)
    instances = db.session.scalars(
        sa.select(InjectInstance).where(InjectInstance.exercise_id == exercise_id)
    ).all()
    due = [i for i in instances if i.due_scenario_seconds <= runtime.horizon]
    assert {i.inject_key for i in due} >= {f"stage:step-{n}" for n in range(5)}
    assert "crisis:press-call" in {i.inject_key for i in due}
    assert all(i.state == InjectState.FIRED for i in due), [
        (i.inject_key, i.state) for i in due
    ]
    fired = [
        payload["inject_key"]
        for payload in db.session.scalars(
            sa.select(ExerciseEvent.payload).where(
                ExerciseEvent.exercise_id == exercise_id,
                ExerciseEvent.kind == "inject.fired",
            )
        )
    ]
    assert sorted(fired) == sorted(i.inject_key for i in due)
    rooms = db.session.execute(
        sa.select(
            ExerciseEvent.room, sa.func.count(), sa.func.max(ExerciseEvent.seq)
        ).group_by(ExerciseEvent.room)
    ).all()
    assert all(total == last for _, total, last in rooms), rooms
    # The SIEM holds exactly the events a play without any crash delivers.
    exercise = db.session.get(Exercise, exercise_id)
    play = rebuild(
        load_scenario(exercise.scenario_yaml),
        Organisation.from_dict(runtime.organisation),
        exercise.seed,
        runtime.origin,
        [],
        runtime.origin + runtime.horizon,
        uid_prefix=uid_prefix(exercise_id),
    )
    stages = [o.stage for o in play.outcomes() if o.status == "fired"]
    expected = {
        event.uid
        for event, _ in play.stage_events(
            stages, -math.inf, runtime.origin + runtime.delivered_until
        )
    }
    with siem_store(app).connect() as conn:
        stored = [
            uid
            for (uid,) in conn.exec_driver_sql(
                "SELECT uid FROM events WHERE exercise = ?", (str(exercise_id),)
            )
        ]
        labels = conn.exec_driver_sql(
            "SELECT count(*) FROM labels WHERE exercise = ?", (str(exercise_id),)
        ).scalar()
    assert len(stored) == len(set(stored)) == labels
    assert set(stored) == expected and len(expected) == 25


@pytest.mark.parametrize("failpoint", ["after_claim", "after_commit_before_emit"])
def test_a_crash_at_a_failpoint_loses_and_repeats_nothing(instance, failpoint):
    app, folder = instance
    exercise_id = new_drill()
    crashed = spawn(folder, failpoint)
    assert wait_exit(crashed) == 137
    db.session.commit()
    if failpoint == "after_claim":
        # The claim died with its transaction: nothing fired, nothing half done.
        states = db.session.scalars(sa.select(InjectInstance.state)).all()
        assert InjectState.FIRED not in states
    finish(folder, exercise_id)
    check_invariants(app, exercise_id)


def test_a_crash_inside_endex_leaves_the_drill_running_until_a_restart(instance):
    app, folder = instance
    exercise_id = new_drill(max_duration=4)
    crashed = spawn(folder, "during_endex")
    assert wait_exit(crashed) == 137
    db.session.commit()
    assert db.session.get(Exercise, exercise_id).state == ExerciseState.RUNNING
    engine = spawn(folder)
    try:
        wait_until(
            lambda: db.session.get(Exercise, exercise_id).state == ExerciseState.ENDED
        )
    finally:
        stop(engine)
    endexes = db.session.scalars(
        sa.select(AuditEntry.id).where(AuditEntry.action == "exercise.endex")
    ).all()
    assert len(endexes) == 1
    states = db.session.scalars(
        sa.select(InjectInstance.state).where(InjectInstance.exercise_id == exercise_id)
    ).all()
    assert InjectState.PENDING not in states


def test_a_kill_at_a_random_moment_of_a_60x_drill_loses_and_repeats_nothing(
    instance,
):
    app, folder = instance
    exercise_id = new_drill()
    engine = spawn(folder)
    moment = random.uniform(1.0, 6.0)  # noqa: S311 - a test's random moment
    time.sleep(moment)
    engine.send_signal(signal.SIGKILL)
    engine.wait(timeout=30)
    finish(folder, exercise_id)
    check_invariants(app, exercise_id)


def test_a_second_engine_waits_for_the_first(instance):
    _, folder = instance
    exercise_id = new_drill()
    first = spawn(folder)
    second = spawn(folder)
    try:
        wait_until(lambda: delivered(exercise_id) > 0, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        before = delivered(exercise_id)
        wait_until(lambda: delivered(exercise_id) > before + 60, timeout=30)
    finally:
        stop(second)
