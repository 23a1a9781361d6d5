"""Real-world stop and ENDEX without live updates: plain HTTP and the CLI.

The app runs with ``REALTIME_ENABLED`` off (no Socket.IO at all) while the engine
plays a drill; the emergency button and ENDEX still act at once, a second ENDEX
changes nothing, and the engine fires nothing afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from socdrill.cli import cli
from socdrill.engine.ticker import Engine
from socdrill.extensions import db
from socdrill.models import (
    AuditEntry,
    Exercise,
    ExerciseState,
    InjectInstance,
    InjectState,
    StageOutcomeRecord,
    utcnow,
)
from tests.web.conftest import Browser
from tests.web.test_engine_support import engine_app, make_drill, run, siem_rows, start


@pytest.fixture
def offline(tmp_path, monkeypatch):
    app = engine_app(tmp_path, monkeypatch, REALTIME_ENABLED="false")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def state(exercise_id: int) -> ExerciseState:
    db.session.commit()
    return db.session.get(Exercise, exercise_id).state


def test_there_is_no_socket_server_when_live_updates_are_off(offline):
    response = offline.test_client().get("/socket.io/?EIO=4&transport=polling")
    assert response.status_code == 404


def test_emergency_stop_and_endex_work_over_http_without_socketio(offline):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=2)
    start(drill, begin)
    engine = Engine(offline)
    engine.tick(begin + timedelta(seconds=20))
    analyst = Browser(offline.test_client())
    analyst.login(drill.analyst.username)
    pressed = analyst.client.post(
        "/emergency",
        headers={"Accept": "application/json", "X-CSRFToken": analyst.csrf_token()},
    )
    assert pressed.status_code == 200 and pressed.get_json()["ok"] is True
    assert state(drill.exercise_id) == ExerciseState.PAUSED
    decided = db.session.scalar(sa.select(sa.func.count(StageOutcomeRecord.id)))
    run(engine, begin + timedelta(seconds=30), until=60, step=10)
    assert db.session.scalar(sa.select(sa.func.count(StageOutcomeRecord.id))) == decided

    manager = Browser(offline.test_client())
    manager.login(drill.manager.username)
    first = manager.post_json(f"/exercises/{drill.exercise_id}/endex", {"reason": "x"})
    second = manager.post_json(f"/exercises/{drill.exercise_id}/endex", {})
    assert first.status_code == 200 and first.get_json()["changed"] is True
    assert second.status_code == 200 and second.get_json()["changed"] is False
    assert state(drill.exercise_id) == ExerciseState.ENDED
    pending = db.session.scalars(
        sa.select(InjectInstance.state).where(
            InjectInstance.exercise_id == drill.exercise_id
        )
    ).all()
    assert InjectState.PENDING not in pending
    endexes = db.session.scalars(
        sa.select(AuditEntry.id).where(AuditEntry.action == "exercise.endex")
    ).all()
    assert len(endexes) == 1
    events = siem_rows(offline, "SELECT count(*) FROM events")[0][0]
    run(engine, begin + timedelta(seconds=200), until=100, step=20)
    assert siem_rows(offline, "SELECT count(*) FROM events")[0][0] == events


def test_endex_from_the_command_line_is_idempotent(offline):
    drill = make_drill()
    start(drill, utcnow())
    runner = offline.test_cli_runner()
    first = runner.invoke(cli, ["exercise", "endex", str(drill.exercise_id)])
    second = runner.invoke(cli, ["exercise", "endex", str(drill.exercise_id)])
    assert first.exit_code == 0 and "ENDEX" in first.output
    assert second.exit_code == 0 and "had already ended" in second.output
    assert state(drill.exercise_id) == ExerciseState.ENDED
    missing = runner.invoke(cli, ["exercise", "endex", "999"])
    assert missing.exit_code != 0 and "does not exist" in missing.output
