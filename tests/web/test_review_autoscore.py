"""The engine scores every ended exercise once, shortly after ENDEX, whichever way
it ended; a failure is recorded once, shown in the debrief, and never stops the
tick."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from socdrill.cli import cli
from socdrill.config import ConfigError
from socdrill.console.errors import Conflict
from socdrill.engine.actions import perform_response
from socdrill.engine.ticker import Engine
from socdrill.exercise import lifecycle
from socdrill.extensions import db
from socdrill.models import AuditEntry, EngineRuntime, ScoreRecord, utcnow
from socdrill.models.review import AutoScoreAttempt
from socdrill.review.scores import engine_source, set_scoring_source
from tests.web.conftest import Browser, _make_app, row_counts
from tests.web.test_engine_support import (
    engine_app,
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


def _playing(app, slug: str = "acme", **options):
    """Ransomware in play for 30 scenario minutes, the victim isolated at 25."""
    drill = make_drill(slug=slug, **options)
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
    run(engine, begin + timedelta(seconds=30), until=0)
    return drill, engine, begin


def _audits(action: str) -> list[AuditEntry]:
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action)
        ).all()
    )


def _score(exercise_id: int) -> ScoreRecord | None:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(ScoreRecord, exercise_id)


def test_endex_is_scored_at_the_next_tick_exactly_once(app):
    drill, engine, begin = _playing(app)
    lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=40))
    assert _score(drill.exercise_id) is None, "ENDEX itself does not score"

    summary = engine.tick(begin + timedelta(seconds=42))
    assert summary.scored == [drill.exercise_id] and summary.errors == []
    record = _score(drill.exercise_id)
    assert record is not None and record.revision == 1 and record.tes is not None
    assert record.computed_by_id is None
    assert "acme-analyst" in record.document["individual"]
    (audit,) = _audits("review.score")
    assert audit.actor_name == "system"
    assert audit.detail["reason"] == "scored automatically after ENDEX"
    attempt = db.session.get(AutoScoreAttempt, drill.exercise_id)
    assert attempt is not None and attempt.error == ""

    before = row_counts()
    again = engine.tick(begin + timedelta(seconds=44))
    later = Engine(app).tick(begin + timedelta(seconds=46))  # a restarted engine
    assert again.scored == [] and later.scored == []
    assert row_counts() == before
    assert _score(drill.exercise_id).revision == 1


def test_the_dead_man_switch_endex_is_scored_too(app):
    drill, engine, begin = _playing(app, max_duration_seconds=60)
    summaries = run(engine, begin + timedelta(seconds=50), until=20, step=5)
    ended = [s for s in summaries if s.ended == [drill.exercise_id]]
    assert len(ended) == 1, "the maximum duration ends the drill once"
    scored = [s.scored for s in summaries if s.scored]
    assert scored == [[drill.exercise_id]]
    assert _score(drill.exercise_id) is not None


def test_an_endex_from_the_command_line_is_scored_at_the_next_tick(app):
    drill, engine, begin = _playing(app)
    result = app.test_cli_runner().invoke(
        cli, ["exercise", "endex", str(drill.exercise_id)]
    )
    assert result.exit_code == 0, result.output
    assert _score(drill.exercise_id) is None
    summary = engine.tick(utcnow())
    assert summary.scored == [drill.exercise_id]
    assert _score(drill.exercise_id) is not None


def test_a_drill_that_never_started_is_recorded_as_not_scored_once(app):
    running, engine, begin = _playing(app, slug="globex")
    never = make_drill(slug="acme")
    lifecycle.endex(never.exercise_id, never.manager, begin + timedelta(seconds=35))

    summary = engine.tick(begin + timedelta(seconds=36))
    assert summary.scored == []
    assert summary.advanced == [running.exercise_id], "the tick went on"
    assert summary.errors == []
    assert _score(never.exercise_id) is None
    attempt = db.session.get(AutoScoreAttempt, never.exercise_id)
    assert "never started" in attempt.error
    (failed,) = _audits("review.autoscore_failed")
    assert failed.target_id == str(never.exercise_id)
    assert "never started" in failed.detail["reason"]

    before = row_counts()
    for offset in (38, 40, 42):
        assert engine.tick(begin + timedelta(seconds=offset)).scored == []
    after = row_counts()
    assert after.pop("engine_runtimes") == before.pop("engine_runtimes")
    assert after["review_auto_scores"] == before["review_auto_scores"]
    assert len(_audits("review.autoscore_failed")) == 1, "no retry loop"

    page = (
        _signed_in(app, "acme-manager")
        .get(f"/review/exercises/{never.exercise_id}")
        .get_data(as_text=True)
    )
    assert "Not scored automatically:" in page and "never started" in page


def test_after_a_failed_attempt_score_now_still_works(app):
    drill, engine, begin = _playing(app)

    def unreachable(exercise):
        raise Conflict("the SIEM store did not answer")

    set_scoring_source(app, unreachable)
    lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=40))
    assert engine.tick(begin + timedelta(seconds=41)).scored == []
    assert _score(drill.exercise_id) is None
    assert db.session.get(AutoScoreAttempt, drill.exercise_id) is not None
    manager = _signed_in(app, "acme-manager")
    page = manager.get(f"/review/exercises/{drill.exercise_id}").get_data(as_text=True)
    assert "Not scored automatically: the SIEM store did not answer" in page
    body = manager.get(f"/api/v1/review/exercises/{drill.exercise_id}").get_json()
    assert body["auto_score_error"] == "the SIEM store did not answer"

    set_scoring_source(app, engine_source)
    assert engine.tick(begin + timedelta(seconds=42)).scored == [], "tried once"
    response = manager.post(f"/review/exercises/{drill.exercise_id}/score")
    assert response.status_code == 303
    assert _score(drill.exercise_id) is not None
    page = manager.get(f"/review/exercises/{drill.exercise_id}").get_data(as_text=True)
    assert "Not scored automatically" not in page
    body = manager.get(f"/api/v1/review/exercises/{drill.exercise_id}").get_json()
    assert body["auto_score_error"] is None


def test_an_unexpected_error_is_recorded_without_its_details(app, caplog):
    drill, engine, begin = _playing(app)

    def broken(exercise):
        raise RuntimeError("cannot open /srv/private/store.db")

    set_scoring_source(app, broken)
    lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=40))
    summary = engine.tick(begin + timedelta(seconds=41))
    assert summary.scored == [] and summary.errors == []
    error = db.session.get(AutoScoreAttempt, drill.exercise_id).error
    assert error == "an unexpected RuntimeError; the engine log has the details"
    assert "/srv/private" in caplog.text, "the engine log keeps the details"
    page = (
        _signed_in(app, "acme-lead")
        .get(f"/review/exercises/{drill.exercise_id}")
        .get_data(as_text=True)
    )
    assert "Not scored automatically: an unexpected RuntimeError" in page
    assert "/srv/private" not in page


def test_scoring_waits_until_detection_has_seen_the_last_events(tmp_path, monkeypatch):
    app = engine_app(tmp_path, monkeypatch, ENGINE_MAX_EVENTS_PER_TICK=3)
    with app.app_context():
        drill, engine, begin = _playing(app)
        lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=40))
        newest = engine.autoscore.detection().store
        with newest.connect() as conn:
            last_event = conn.exec_driver_sql("SELECT max(id) FROM events").scalar()
        waited = 0
        at = begin + timedelta(seconds=41)
        while _score(drill.exercise_id) is None:
            assert engine.detection.detector.watermark < last_event
            summary = engine.tick(at)
            waited += 1
            at += timedelta(seconds=1)
            assert waited < 200
        assert waited > 1, "the backlog held the score back"
        assert summary.scored == [drill.exercise_id]
        assert engine.detection.detector.watermark >= last_event
        db.session.remove()
        db.engine.dispose()


def test_with_the_setting_off_nothing_is_scored(tmp_path, monkeypatch):
    app = engine_app(tmp_path, monkeypatch, SCORE_AT_ENDEX="false")
    with app.app_context():
        assert app.config["SCORE_AT_ENDEX"] is False
        drill, engine, begin = _playing(app)
        lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=40))
        for offset in (41, 42):
            assert engine.tick(begin + timedelta(seconds=offset)).scored == []
        assert _score(drill.exercise_id) is None
        assert db.session.get(AutoScoreAttempt, drill.exercise_id) is None
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_a_malformed_score_at_endex_setting_is_refused(tmp_path, monkeypatch, value):
    with pytest.raises(ConfigError, match="SCORE_AT_ENDEX"):
        _make_app(tmp_path, monkeypatch, SCORE_AT_ENDEX=value)
    monkeypatch.setenv("SOCDRILL_SCORE_AT_ENDEX", value)
    with pytest.raises(ConfigError, match="SOCDRILL_SCORE_AT_ENDEX"):
        _make_app(tmp_path, monkeypatch)


def test_score_at_endex_is_on_by_default_and_read_from_the_environment(
    tmp_path, monkeypatch
):
    assert _make_app(tmp_path, monkeypatch).config["SCORE_AT_ENDEX"] is True
    monkeypatch.setenv("SOCDRILL_SCORE_AT_ENDEX", "off")
    assert _make_app(tmp_path, monkeypatch).config["SCORE_AT_ENDEX"] is False
