"""Crisis messages: delivered once at their time, replies recorded, secret drills
held for control."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from scoring import score_exercise
from socdrill.engine.crisis import (
    CrisisError,
    inbox,
    record_crisis_reply,
    release_delivery,
)
from socdrill.engine.delivery import siem_store
from socdrill.engine.scoring_input import scoring_exercise
from socdrill.engine.ticker import Engine
from socdrill.exercise import journal, lifecycle
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    CrisisDelivery,
    CrisisReply,
    Exercise,
    ExerciseEvent,
    utcnow,
)
from socdrill.review.tables import crisis_table
from tests.web.test_engine_support import engine_app, make_drill, run, start


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    app = engine_app(tmp_path, monkeypatch)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def play_to_the_end(app, drill) -> None:
    begin = utcnow() - timedelta(minutes=5)
    start(drill, begin)
    engine = Engine(app)
    run(engine, begin, until=240, step=12)
    run(Engine(app), begin + timedelta(seconds=240), until=12, step=12)  # a restart


def team_notices(team_id: int) -> list[dict]:
    db.session.commit()
    return db.session.scalars(
        sa.select(ExerciseEvent.payload).where(
            ExerciseEvent.room == journal.team_room(team_id),
            ExerciseEvent.kind == "crisis.new",
        )
    ).all()


def test_crisis_messages_reach_the_inbox_once_at_their_time(ctx):
    drill = make_drill()
    play_to_the_end(ctx, drill)
    deliveries = db.session.scalars(
        sa.select(CrisisDelivery).order_by(CrisisDelivery.due_scenario_seconds)
    ).all()
    assert {d.inject_id for d in deliveries} == {
        "helpdesk-tickets",
        "cfo-call",
        "journalist",
        "dpa-question",
    }
    journalist = next(d for d in deliveries if d.inject_id == "journalist")
    assert journalist.due_scenario_seconds == pytest.approx(3 * 3600)
    assert journalist.channel == "media" and not journalist.held
    assert journalist.reply_within_seconds == 30 * 60
    notices = team_notices(drill.team_id)
    assert sorted(n["delivery_id"] for n in notices) == sorted(d.id for d in deliveries)
    assert all("message" not in n for n in notices)  # the inbox page shows the text
    exercise = db.session.get(Exercise, drill.exercise_id)
    assert len(inbox(exercise, drill.analyst)) == 4


def test_a_reply_is_recorded_with_its_time_once_per_client_action(ctx):
    drill = make_drill()
    play_to_the_end(ctx, drill)
    delivery = db.session.scalar(
        sa.select(CrisisDelivery).where(CrisisDelivery.inject_id == "cfo-call")
    )
    first = record_crisis_reply(
        drill.exercise_id, delivery.id, drill.lead, "Restoring from backup.", "c-1"
    )
    again = record_crisis_reply(
        drill.exercise_id, delivery.id, drill.lead, "Restoring from backup.", "c-1"
    )
    assert not first.replayed and again.replayed and again.reply_id == first.reply_id
    assert db.session.scalar(sa.select(sa.func.count(CrisisReply.id))) == 1
    activity = db.session.get(Activity, first.activity_id)
    assert activity.kind == "crisis_reply" and activity.actor_id == drill.lead.id
    assert activity.at == first.at
    assert activity.payload["targets"] == ["cfo-call"]


@pytest.mark.parametrize(
    ("who", "text", "client_id", "message"),
    [
        ("lead", "   ", "r1", "empty"),
        ("lead", "x" * 20_001, "r2", "longer than"),
        ("lead", "ok", "bad id!", "client_action_id"),
        ("outsider", "ok", "r3", "does not exist"),
    ],
)
def test_bad_replies_are_refused_and_change_nothing(ctx, who, text, client_id, message):
    drill = make_drill()
    play_to_the_end(ctx, drill)
    delivery = db.session.scalar(sa.select(CrisisDelivery))
    with pytest.raises(CrisisError, match=message):
        record_crisis_reply(
            drill.exercise_id, delivery.id, getattr(drill, who), text, client_id
        )
    assert db.session.scalar(sa.select(sa.func.count(CrisisReply.id))) == 0


def test_a_secret_drills_messages_wait_for_control(ctx):
    drill = make_drill(announced=False, slug="quiet")
    play_to_the_end(ctx, drill)
    deliveries = db.session.scalars(sa.select(CrisisDelivery)).all()
    assert deliveries and all(d.held for d in deliveries)
    assert team_notices(drill.team_id) == []
    exercise = db.session.get(Exercise, drill.exercise_id)
    assert inbox(exercise, drill.analyst) == []
    assert len(inbox(exercise, drill.manager)) == len(deliveries)
    with pytest.raises(CrisisError, match="only control"):
        release_delivery(deliveries[0].id, drill.analyst)
    assert release_delivery(deliveries[0].id, drill.manager) is True
    assert release_delivery(deliveries[0].id, drill.manager) is False
    assert [n["delivery_id"] for n in team_notices(drill.team_id)] == [deliveries[0].id]
    assert [d.id for d in inbox(exercise, drill.analyst)] == [deliveries[0].id]


def test_replies_are_scored_against_each_message_target_beside_the_team_score(ctx):
    drill = make_drill()
    play_to_the_end(ctx, drill)
    delivery = db.session.scalar(
        sa.select(CrisisDelivery).where(CrisisDelivery.inject_id == "cfo-call")
    )
    replied_at = delivery.delivered_at + timedelta(minutes=5)
    record_crisis_reply(
        drill.exercise_id, delivery.id, drill.lead, "Restoring.", "c-9", now=replied_at
    )
    lifecycle.endex(drill.exercise_id, drill.manager, replied_at + timedelta(minutes=1))
    exercise = db.session.get(Exercise, drill.exercise_id)
    scored = scoring_exercise(exercise, siem_store(ctx))
    assert {m.id for m in scored.crisis} == {
        "helpdesk-tickets",
        "cfo-call",
        "journalist",
        "dpa-question",
    }
    document = score_exercise(scored)
    crisis = document["crisis"]
    cfo = next(m for m in crisis["messages"] if m["id"] == "cfo-call")
    assert cfo["response_time"] == pytest.approx(300, abs=1)
    assert cfo["within_target"] is True  # five minutes against twenty
    assert crisis["answered"] == 1 and crisis["shown"] == 4
    # The debrief's table (and its CSV/JSON export) shows the same.
    row = next(r for r in crisis_table(document).rows if r["message"] == "cfo-call")
    assert (row["reply_min"], row["target_min"], row["within"]) == (
        pytest.approx(5, abs=0.1),
        20,
        True,
    )
