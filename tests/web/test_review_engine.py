"""The debrief of a drill the engine really played: the engine's mapping of
scenario, labels, alerts and activity log is the scorer's input."""

from __future__ import annotations

from datetime import timedelta

from socdrill.engine.actions import perform_response
from socdrill.engine.ticker import Engine
from socdrill.exercise import lifecycle
from socdrill.extensions import db
from socdrill.models import EngineRuntime, ScoreRecord, utcnow
from tests.web.conftest import Browser, row_counts
from tests.web.test_engine_support import (
    engine_app_in_context,
    make_drill,
    run,
    start,
)

app = engine_app_in_context


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def _played(app):
    """Ransomware played for 60 scenario minutes; the victim isolated at 25."""
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=10)
    start(drill, begin)
    engine = Engine(app)
    run(engine, begin, until=24, step=6)
    victim = db.session.get(EngineRuntime, drill.exercise_id).bindings["victim_ws"]
    perform_response(
        drill.exercise_id,
        "isolate_host",
        victim,
        drill.analyst,
        "iso",
        now=begin + timedelta(seconds=25),
    )
    run(engine, begin + timedelta(seconds=30), until=30, step=6)
    lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=61))
    return drill


def test_a_played_drill_is_scored_from_what_the_platform_stored(app):
    drill = _played(app)
    manager = _signed_in(app, "acme-manager")
    response = manager.post(f"/review/exercises/{drill.exercise_id}/score")
    assert response.status_code == 303
    record = db.session.get(ScoreRecord, drill.exercise_id)
    assert record is not None
    stages = {s["stage"]: s for s in record.document["stages"]}
    assert stages["execution"]["t_inj"] is not None
    assert record.curves["damage"]["t"], "a damage curve is drawn"
    page = manager.get(f"/review/exercises/{drill.exercise_id}").get_data(as_text=True)
    assert "execution" in page and "credential-access" in page
    assert "Lessons-learned questions" in page  # from the scenario's debrief
    lead = (
        _signed_in(app, "acme-lead")
        .get(f"/api/v1/review/exercises/{drill.exercise_id}")
        .get_json()
    )
    assert "acme-analyst" in lead["document"]["individual"]


def test_an_exercise_that_never_ran_cannot_be_scored(app):
    drill = make_drill()
    lifecycle.endex(drill.exercise_id, drill.manager, utcnow())
    manager = _signed_in(app, "acme-manager")
    before = row_counts()
    manager.post(f"/review/exercises/{drill.exercise_id}/score")
    page = manager.get(f"/review/exercises/{drill.exercise_id}").get_data(as_text=True)
    assert "Nothing changed" in page and "never started" in page
    assert db.session.get(ScoreRecord, drill.exercise_id) is None
    after = row_counts()
    after["audit_entries"] = before["audit_entries"]
    assert after == before
