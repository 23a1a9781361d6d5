"""The exercise engine with real components: scenario, SIEM store, rule pack.

Time is moved by hand: every tick gets its wall instant, so a four-hour scenario at
60x plays in a few dozen ticks without sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from socdrill.engine.actions import (
    ResponseActionError,
    perform_response,
    response_state,
)
from socdrill.engine.ticker import Engine
from socdrill.exercise import journal, lifecycle
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    AuditEntry,
    CatchUpPolicy,
    EngineRuntime,
    ExerciseEvent,
    ExerciseState,
    InjectInstance,
    InjectState,
    ResponseActionRecord,
    StageOutcomeRecord,
    utcnow,
)
from tests.web.test_engine_support import (
    count,
    engine_app,
    make_drill,
    run,
    siem_rows,
    start,
)

STAGES = (
    "delivery",
    "execution",
    "credential-access",
    "lateral-movement",
    "inhibit-recovery",
    "encryption",
)


@pytest.fixture
def ectx(tmp_path, monkeypatch):
    app = engine_app(tmp_path, monkeypatch)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def outcomes(exercise_id: int) -> dict[str, str]:
    db.session.commit()
    return dict(
        db.session.execute(
            sa.select(StageOutcomeRecord.stage_id, StageOutcomeRecord.status).where(
                StageOutcomeRecord.exercise_id == exercise_id
            )
        ).all()
    )


def test_a_drill_at_60x_writes_events_labels_alerts_and_journal_events(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    engine = Engine(ectx)
    run(engine, begin, until=260, step=10)
    assert outcomes(drill.exercise_id) == dict.fromkeys(STAGES, "fired")
    key = str(drill.exercise_id)
    events = siem_rows(ectx, "SELECT count(*) FROM events WHERE exercise = ?", key)
    labels = siem_rows(
        ectx,
        "SELECT l.stage, count(*) FROM labels l JOIN events e ON e.id = l.event_id "
        "WHERE e.tenant = 'acme' AND l.exercise = ? GROUP BY l.stage",
        key,
    )
    assert events[0][0] > 500
    assert {stage for stage, _ in labels} == set(STAGES)
    # The events themselves carry no ground truth: only the labels table does.
    fields = siem_rows(ectx, "SELECT fields FROM events WHERE exercise = ?", key)
    assert not any("stage" in text or "malicious" in text for (text,) in fields)
    rules = {
        title for (title,) in siem_rows(ectx, "SELECT DISTINCT rule_title FROM alerts")
    }
    assert len(rules) >= 8
    tenant_alerts = count(
        sa.select(ExerciseEvent).where(
            ExerciseEvent.room == journal.tenant_room(drill.tenant_id),
            ExerciseEvent.kind == "alert.new",
        )
    )
    assert tenant_alerts >= 8
    # Analysts' alert notices name no exercise and no stage; control's name both.
    public = db.session.scalars(
        sa.select(ExerciseEvent.payload).where(
            ExerciseEvent.room == journal.tenant_room(drill.tenant_id)
        )
    ).all()
    assert all("stages" not in p and "exercise" not in p for p in public)
    control = db.session.scalars(
        sa.select(ExerciseEvent.payload).where(
            ExerciseEvent.room == journal.control_room(drill.exercise_id),
            ExerciseEvent.kind == "alert.new",
        )
    ).all()
    assert {stage for p in control for stage in p["stages"]} >= {"execution"}


def test_every_room_sequence_is_gap_free_and_each_inject_fires_once(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    run(Engine(ectx), begin, until=260, step=10)
    run(Engine(ectx), begin, until=260, step=20)  # a second engine replays: no-op
    rooms = db.session.execute(
        sa.select(
            ExerciseEvent.room, sa.func.count(), sa.func.max(ExerciseEvent.seq)
        ).group_by(ExerciseEvent.room)
    ).all()
    assert rooms and all(total == last for _, total, last in rooms)
    fired = db.session.scalars(
        sa.select(ExerciseEvent.payload).where(ExerciseEvent.kind == "inject.fired")
    ).all()
    keys = [payload["inject_key"] for payload in fired]
    assert len(keys) == len(set(keys)) and len(keys) >= len(STAGES)
    duplicates = siem_rows(
        ectx, "SELECT uid, count(*) FROM events GROUP BY uid HAVING count(*) > 1"
    )
    assert duplicates == []


def test_isolating_the_victim_first_prevents_the_credential_theft(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    engine = Engine(ectx)
    run(engine, begin, until=20, step=10)  # 20 scenario minutes: execution fired
    victim = db.session.get(EngineRuntime, drill.exercise_id).bindings["victim_ws"]
    result = perform_response(
        drill.exercise_id,
        "isolate_host",
        victim,
        drill.analyst,
        "iso-1",
        now=begin + timedelta(seconds=21),
    )
    assert result.target == victim.lower() and not result.replayed
    run(engine, begin + timedelta(seconds=30), until=230, step=10)
    assert outcomes(drill.exercise_id) == {
        "delivery": "fired",
        "execution": "fired",
        "credential-access": "fallback",
        "fallback-c2": "prevented",
        "lateral-movement": "prevented",
        "inhibit-recovery": "prevented",
        "encryption": "prevented",
    }
    # The isolation's own EDR record is in the SIEM, as the tool would write it.
    isolation = siem_rows(
        ectx,
        "SELECT sensor, host, fields FROM events WHERE exercise = ? AND uid LIKE ?",
        str(drill.exercise_id),
        f"x{drill.exercise_id}-r-%",
    )
    assert len(isolation) == 1
    sensor, host, fields = isolation[0]
    assert sensor == "edr" and host.lower() == victim.lower()
    assert "isolate_host" in fields
    assert response_state(drill.exercise_id)["isolated_hosts"] == [victim.lower()]


def test_blocking_the_c2_domain_switches_the_attacker_to_its_fallback(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    engine = Engine(ectx)
    run(engine, begin, until=20, step=10)
    domain = db.session.get(EngineRuntime, drill.exercise_id).bindings["c2_domain"]
    perform_response(
        drill.exercise_id,
        "block_domain",
        domain,
        drill.analyst,
        "block-1",
        now=begin + timedelta(seconds=21),
    )
    run(engine, begin + timedelta(seconds=30), until=230, step=10)
    result = outcomes(drill.exercise_id)
    assert result["credential-access"] == "fallback"
    assert result["fallback-c2"] == "fired"
    # The attack goes on through the backup channel.
    assert result["lateral-movement"] == "fired"
    fallback_events = siem_rows(
        ectx,
        "SELECT count(*) FROM labels WHERE stage = 'fallback-c2' AND exercise = ?",
        str(drill.exercise_id),
    )
    assert fallback_events[0][0] > 0


def test_a_retried_response_action_has_one_effect(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=1)
    start(drill, begin)
    Engine(ectx).tick(begin + timedelta(seconds=30))
    victim = db.session.get(EngineRuntime, drill.exercise_id).bindings["victim_ws"]
    results = [
        perform_response(drill.exercise_id, "isolate_host", victim, drill.analyst, "a1")
        for _ in range(3)
    ]
    assert [r.replayed for r in results] == [False, True, True]
    assert len({r.activity_id for r in results}) == 1
    assert count(sa.select(ResponseActionRecord)) == 1
    activity = db.session.scalar(sa.select(Activity).where(Activity.kind == "response"))
    assert activity.actor_id == drill.analyst.id and activity.at is not None
    assert activity.payload["fields"] == {"action": "isolate_host"}


@pytest.mark.parametrize(
    ("action", "target", "client_id", "message"),
    [
        ("isolate", "WS0001", "k1", "unknown response action"),
        ("isolate_host", "NO-SUCH-HOST", "k2", "no host"),
        ("disable_account", "nobody-here", "k3", "no account"),
        ("block_ip", "not-an-ip", "k4", "not an IP address"),
        ("block_domain", "bad domain!", "k5", "not a domain"),
        ("isolate_host", "", "k6", "name the target"),
        ("isolate_host", "WS0001", "bad id with spaces", "client_action_id"),
    ],
)
def test_bad_response_input_is_refused_and_changes_nothing(
    ectx, action, target, client_id, message
):
    drill = make_drill()
    start(drill, utcnow())
    with pytest.raises(ResponseActionError, match=message):
        perform_response(drill.exercise_id, action, target, drill.analyst, client_id)
    assert count(sa.select(Activity)) == 0
    assert count(sa.select(ResponseActionRecord)) == 0


def test_a_response_after_endex_is_refused(ectx):
    drill = make_drill()
    start(drill, utcnow())
    lifecycle.endex(drill.exercise_id, drill.manager, utcnow(), "done")
    with pytest.raises(ResponseActionError, match="in play") as refused:
        perform_response(drill.exercise_id, "block_ip", "192.0.2.1", drill.lead, "z")
    assert refused.value.status == 409


def test_a_paused_drill_fires_nothing_and_endex_cancels_pending_injects(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    engine = Engine(ectx)
    lifecycle.emergency_stop(
        drill.exercise_id, drill.analyst, begin + timedelta(milliseconds=1)
    )
    run(engine, begin + timedelta(seconds=10), until=100, step=10)
    assert outcomes(drill.exercise_id) == {}
    assert siem_rows(ectx, "SELECT count(*) FROM events")[0][0] == 0
    lifecycle.resume(drill.exercise_id, drill.manager, begin + timedelta(seconds=110))
    engine.tick(begin + timedelta(seconds=112))
    db.session.commit()
    planned = db.session.scalars(sa.select(InjectInstance.inject_key)).all()
    assert planned  # the first stage is planned and fired after the resume
    lifecycle.endex(drill.exercise_id, drill.manager, begin + timedelta(seconds=113))
    before = siem_rows(ectx, "SELECT count(*) FROM events")[0][0]
    run(engine, begin + timedelta(seconds=120), until=200, step=20)
    assert siem_rows(ectx, "SELECT count(*) FROM events")[0][0] == before
    states = set(db.session.scalars(sa.select(InjectInstance.state)).all())
    assert InjectState.PENDING not in states


def test_a_restarted_engine_resumes_without_repeating_anything(ectx):
    drill = make_drill()
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    first = Engine(ectx)
    run(first, begin, until=20, step=10)
    victim = db.session.get(EngineRuntime, drill.exercise_id).bindings["victim_ws"]
    perform_response(
        drill.exercise_id,
        "isolate_host",
        victim,
        drill.lead,
        "r1",
        now=begin + timedelta(seconds=35),
    )
    run(first, begin + timedelta(seconds=30), until=30, step=10)
    uids_before = {u for (u,) in siem_rows(ectx, "SELECT uid FROM events")}
    second = Engine(ectx)  # a new process: nothing in memory
    run(second, begin + timedelta(seconds=60), until=200, step=10)
    uids_after = {u for (u,) in siem_rows(ectx, "SELECT uid FROM events")}
    assert uids_before <= uids_after
    assert outcomes(drill.exercise_id)["credential-access"] == "fallback"
    fired = db.session.scalars(
        sa.select(ExerciseEvent.payload).where(ExerciseEvent.kind == "inject.fired")
    ).all()
    keys = [payload["inject_key"] for payload in fired]
    assert len(keys) == len(set(keys))


def test_after_downtime_skip_marks_injects_missed_and_catch_up_fires_them_late(ectx):
    skip = make_drill(slug="skip", catch_up_policy=CatchUpPolicy.SKIP)
    late = make_drill(slug="late")
    begin = utcnow() - timedelta(minutes=10)
    start(skip, begin)
    start(late, begin)
    # The engine was down for the first 100 wall seconds (100 scenario minutes).
    Engine(ectx).tick(begin + timedelta(seconds=100))
    missed = outcomes(skip.exercise_id)
    assert missed["delivery"] == "missed" and missed["execution"] == "missed"
    caught = outcomes(late.exercise_id)
    assert caught["delivery"] == "fired" and caught["execution"] == "fired"
    late_flags = dict(
        db.session.execute(
            sa.select(InjectInstance.inject_key, InjectInstance.late).where(
                InjectInstance.exercise_id == late.exercise_id
            )
        ).all()
    )
    assert late_flags["stage:delivery"] is True
    skipped = siem_rows(
        ectx,
        "SELECT count(*) FROM labels WHERE exercise = ? AND stage = 'delivery'",
        str(skip.exercise_id),
    )
    assert skipped[0][0] == 0
    control = db.session.scalars(
        sa.select(ExerciseEvent.kind).where(
            ExerciseEvent.room == journal.control_room(skip.exercise_id)
        )
    ).all()
    assert "inject.missed" in control


def test_scheduled_drills_start_at_their_time_and_end_after_their_maximum(ectx):
    now = utcnow()
    drill = make_drill(max_duration_seconds=600)
    from socdrill.models import Exercise

    lifecycle.schedule(drill.exercise_id, drill.manager, now)
    from socdrill.database import write_transaction

    with write_transaction():
        db.session.get(Exercise, drill.exercise_id).scheduled_start = now + timedelta(
            seconds=60
        )
    engine = Engine(ectx)
    assert engine.tick(now + timedelta(seconds=30)).started == []
    assert engine.tick(now + timedelta(seconds=61)).started == [drill.exercise_id]
    summary = engine.tick(now + timedelta(seconds=61 + 601))
    assert summary.ended == [drill.exercise_id]
    exercise = db.session.get(Exercise, drill.exercise_id)
    db.session.refresh(exercise)
    assert exercise.state == ExerciseState.ENDED
    assert exercise.endex_reason == "maximum duration reached"
    starts = db.session.scalars(
        sa.select(AuditEntry.actor_name).where(AuditEntry.action == "exercise.start")
    ).all()
    assert starts == ["system"]


def test_an_unannounced_drill_starts_at_its_seeded_time_once_ready(ectx):
    drill = make_drill(announced=False, slug="secret")
    from socdrill.models import Exercise

    now = utcnow()
    lifecycle.approve(drill.exercise_id, drill.manager2, now)
    lifecycle.add_trusted_agent(drill.exercise_id, drill.manager, drill.lead, now)
    lifecycle.schedule(drill.exercise_id, drill.manager, now)
    exercise = db.session.get(Exercise, drill.exercise_id)
    picked = exercise.scheduled_start
    engine = Engine(ectx)
    assert engine.tick(picked - timedelta(seconds=1)).started == []
    assert engine.tick(picked + timedelta(seconds=1)).started == [drill.exercise_id]


def test_an_unplayable_scenario_marks_the_drill_degraded_and_tells_control(ectx):
    from tests.web.conftest import make_exercise

    drill = make_drill()
    from socdrill.models import Exercise, Team, Tenant

    broken = make_exercise(
        db.session.get(Tenant, drill.tenant_id),
        db.session.get(Team, drill.team_id),
        drill.manager,
    )
    start_at = utcnow()
    lifecycle.schedule(broken.id, drill.manager, start_at)
    lifecycle.start(broken.id, drill.manager, start_at)
    engine = Engine(ectx)
    summary = engine.tick(start_at + timedelta(seconds=5))
    engine.tick(start_at + timedelta(seconds=6))
    assert any("not playable" in error for error in summary.errors)
    kinds = db.session.scalars(
        sa.select(ExerciseEvent.kind).where(
            ExerciseEvent.room == journal.control_room(broken.id)
        )
    ).all()
    assert kinds.count("engine.error") == 1
    assert db.session.get(Exercise, broken.id).state == ExerciseState.RUNNING
