"""``socdrill score``: the score document from what a played drill stored."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from socdrill.cli import cli
from socdrill.engine.actions import perform_response
from socdrill.engine.delivery import siem_store
from socdrill.engine.scoring_input import scoring_exercise
from socdrill.engine.ticker import Engine
from socdrill.exercise import lifecycle
from socdrill.extensions import db
from socdrill.models import EngineRuntime, Exercise, utcnow
from tests.web.test_engine_support import (
    engine_app_in_context,
    make_drill,
    run,
    start,
)

app = engine_app_in_context


def played(app) -> int:
    """A drill played for 60 scenario minutes, the victim isolated at 25."""
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
    return drill.exercise_id


def test_the_scorer_input_maps_stages_labels_alerts_and_activity(app):
    exercise_id = played(app)
    scored = scoring_exercise(db.session.get(Exercise, exercise_id), siem_store(app))
    stages = {stage.id: stage for stage in scored.stages}
    assert stages["execution"].executed is True
    assert stages["credential-access"].executed is False
    assert stages["execution"].scope == "windows"
    assert stages["execution"].tactic == "execution"
    bound = db.session.get(EngineRuntime, exercise_id).bindings
    assert bound["c2_domain"] in stages["execution"].iocs
    assert bound["victim_ws"] in stages["execution"].entities
    assert {e.stage for e in scored.evidence} == {"delivery", "execution"}
    assert any(alert.stage == "execution" for alert in scored.alerts)
    assert [a.action for a in scored.activity] == ["response"]
    assert scored.activity[0].fields == {"action": "isolate_host"}
    assert scored.clock.ended_at is not None
    assert {member.role for member in scored.team} == {"L1", "lead"}


def test_the_scorer_knows_every_tactic_the_critical_hosts_and_damage_over_time(app):
    exercise_id = played(app)
    scored = scoring_exercise(db.session.get(Exercise, exercise_id), siem_store(app))
    # A technique the scenario never uses still earns same-tactic credit (B4.4).
    assert scored.technique_tactics["T1041"] == ("exfiltration",)
    assert "T1078" in scored.technique_tactics
    # Isolating a domain controller costs the business-critical penalty (B4.5).
    organisation = db.session.get(EngineRuntime, exercise_id).organisation
    controllers = {
        h["name"] for h in organisation["hosts"] if h["kind"] == "domain_controller"
    }
    assert controllers and controllers <= scored.critical_assets
    assert "WS0001" not in scored.critical_assets
    # Encryption does its 120 points over its 60 minutes, 2 per scenario minute.
    encryption = next(s for s in scored.stages if s.id == "encryption")
    assert (encryption.damage, encryption.damage_rate) == (0.0, 2.0)
    assert encryption.duration == 3600.0


def test_score_prints_the_document_of_an_ended_exercise(app):
    exercise_id = played(app)
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["score", str(exercise_id), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["scoring_spec_version"] == "1"
    assert document["exercise"]["id"] == str(exercise_id)
    assert document["exercise"]["c_eff"] == pytest.approx(60, rel=0.05)
    by_stage = {s["stage"]: s for s in document["stages"]}
    assert by_stage["execution"]["t_inj"] is not None
    text = runner.invoke(cli, ["score", str(exercise_id)])
    assert text.exit_code == 0
    assert "team score (TES)" in text.output and "stage execution" in text.output


def test_score_refuses_a_running_or_unknown_exercise(app):
    drill = make_drill()
    start(drill, utcnow())
    runner = app.test_cli_runner()
    running = runner.invoke(cli, ["score", str(drill.exercise_id)])
    assert running.exit_code != 0 and "score after ENDEX" in running.output
    unknown = runner.invoke(cli, ["score", "424242"])
    assert unknown.exit_code != 0 and "does not exist" in unknown.output
