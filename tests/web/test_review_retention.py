"""Retention: individual-level review data of exercises that ended longer ago than
``RETENTION_INDIVIDUAL_MONTHS`` is removed or pseudonymised; the team's record, its
views and a new computation of its team score stay."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from scoring.hr import FIELD_CLASSES
from socdrill.cli import cli
from socdrill.config import ConfigError
from socdrill.console.errors import Conflict
from socdrill.database import write_transaction
from socdrill.engine.actions import perform_response
from socdrill.engine.crisis import record_crisis_reply
from socdrill.engine.ticker import Engine
from socdrill.exercise import lifecycle
from socdrill.exercise.planning import create_draft, read_scenario_file
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    AlertTriage,
    AuditEntry,
    ChatMessage,
    Contest,
    CrisisDelivery,
    CrisisReply,
    EngineRuntime,
    Exercise,
    ExerciseEvent,
    Incident,
    Job,
    ResponseActionRecord,
    Role,
    ScoreRecord,
    SkillSnapshot,
    Team,
    Tenant,
)
from socdrill.models.review import RetentionPurge
from socdrill.review import records, scores
from socdrill.review.retention import REMOVED_TEXT, months_before, purge
from socdrill.review.schemas import ContestIn
from tests.web.conftest import Browser, _make_app, make_user, row_counts
from tests.web.test_console_support import Api
from tests.web.test_engine_support import (
    RANSOMWARE,
    SEED,
    Drill,
    engine_app_in_context,
    make_drill,
    run,
    siem_rows,
    start,
)

# The second exercise ends this long after the first: 25 and 23 months ago when
# the purge runs 25 months after the first.
BETWEEN = timedelta(days=61)


app = engine_app_in_context


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def _fresh(model, key):
    db.session.commit()
    db.session.expire_all()
    return db.session.get(model, key)


def _rows(statement) -> list:
    db.session.commit()
    db.session.expire_all()
    return list(db.session.scalars(statement).all())


def _second_exercise(drill: Drill) -> Drill:
    """Another drill of the same team and tenant."""
    with write_transaction():
        exercise = create_draft(
            actor=db.session.merge(drill.manager),
            name="Drill acme, later",
            tenant=db.session.get(Tenant, drill.tenant_id),
            team=db.session.get(Team, drill.team_id),
            scenario=read_scenario_file(RANSOMWARE, 512 * 1024),
            seed=SEED + 1,
            announced=True,
            speed_factor=60.0,
        )
    return dataclasses.replace(drill, exercise_id=exercise.id)


def _play_with_people(app, drill: Drill) -> datetime:
    """Three and a half scenario hours with what people leave behind: a response
    action, an acknowledged alert, a chat message, a ticket handed to the lead, a
    crisis reply, a contest."""
    begin = datetime.now(UTC) - timedelta(minutes=5)
    start(drill, begin)
    engine = Engine(app)
    run(engine, begin, until=24, step=6)
    victim = db.session.get(EngineRuntime, drill.exercise_id).bindings["victim_ws"]
    perform_response(
        drill.exercise_id,
        "isolate_host",
        victim,
        drill.analyst,
        "iso-old",
        now=begin + timedelta(seconds=25),
    )
    run(engine, begin + timedelta(seconds=30), until=180, step=30)
    analyst = Api(_signed_in(app, "acme-analyst"))
    ((alert,),) = siem_rows(
        app, "SELECT min(id) FROM alerts WHERE exercise = ?", str(drill.exercise_id)
    )
    assert analyst.post("/api/v1/alerts/ack", {"alert_ids": [alert]}).status_code == 200
    chat = analyst.post("/api/v1/chat", {"body": "@acme-lead the victim is isolated"})
    assert chat.status_code == 201, chat.get_json()
    # Escalating opens the ticket in the same action (one log row, two actions).
    opened = analyst.post(
        "/api/v1/alerts/escalate",
        {"alert_ids": [alert], "title": "Ransomware on a workstation"},
    )
    assert opened.status_code == 200, opened.get_json()
    incident = opened.get_json()["data"]["incident_id"]
    handed = analyst.post(
        f"/api/v1/incidents/{incident}/handoff",
        {"to": "acme-lead", "note": {"open_items": "scan the file server"}},
    )
    assert handed.status_code == 200, handed.get_json()
    journalist = db.session.scalar(
        sa.select(CrisisDelivery).where(
            CrisisDelivery.exercise_id == drill.exercise_id,
            CrisisDelivery.inject_id == "journalist",
        )
    )
    record_crisis_reply(
        drill.exercise_id, journalist.id, drill.lead, "No comment yet.", "reply-1"
    )
    ended = datetime.now(UTC)
    lifecycle.endex(drill.exercise_id, drill.manager, ended)
    assert engine.tick(ended).scored == [drill.exercise_id]
    exercise = db.session.get(Exercise, drill.exercise_id)
    document = db.session.get(ScoreRecord, drill.exercise_id).document
    item = records.contestable_items(document, "acme-analyst")[0]
    records.contest(
        exercise,
        drill.analyst,
        ContestIn(item=item, reason="I detected it before the alert came in."),
    )
    return ended


def _play_briefly(app, drill: Drill, begin: datetime) -> datetime:
    start(drill, begin)
    engine = Engine(app)
    run(engine, begin, until=24, step=6)
    victim = db.session.get(EngineRuntime, drill.exercise_id).bindings["victim_ws"]
    perform_response(
        drill.exercise_id,
        "isolate_host",
        victim,
        drill.analyst,
        "iso-new",
        now=begin + timedelta(seconds=25),
    )
    ended = begin + timedelta(seconds=40)
    lifecycle.endex(drill.exercise_id, drill.manager, ended)
    assert engine.tick(ended).scored == [drill.exercise_id]
    return ended


@pytest.fixture
def aged(app):
    """One team (five people in scope, an HR colleague) and two scored drills; the
    purge runs 25 months after the first ended, 23 after the second."""
    old = make_drill()
    team = db.session.get(Team, old.team_id)
    for name in ("acme-ana2", "acme-ana3", "acme-ana4"):
        make_user(name, Role.ANALYST, team=team, job=Job.L1_MONITORING)
    make_user("acme-hr", Role.HR, team=team)
    new = _second_exercise(old)
    old_end = _play_with_people(app, old)
    new_end = _play_briefly(app, new, old_end + BETWEEN)
    now = months_before(old_end, -25)
    assert months_before(now, 25) == old_end
    assert months_before(now, 24) < new_end
    return SimpleNamespace(
        old=old.exercise_id, new=new.exercise_id, drill=old, now=now, new_end=new_end
    )


def _team_sections(document: dict) -> dict:
    return {
        key: value
        for key, value in document.items()
        if FIELD_CLASSES.get(key, "individual") != "individual"
    }


def _people_data(exercise_id: int) -> dict[str, int]:
    """Rows linking the exercise to people."""
    return {
        "skill_states": len(
            _rows(
                sa.select(SkillSnapshot).where(SkillSnapshot.exercise_id == exercise_id)
            )
        ),
        "contests": len(
            _rows(sa.select(Contest).where(Contest.exercise_id == exercise_id))
        ),
        "actors": len(
            _rows(
                sa.select(Activity).where(
                    Activity.exercise_id == exercise_id,
                    Activity.actor_id.is_not(None),
                )
            )
        ),
    }


def test_the_purge_removes_individual_data_of_the_old_exercise_only(aged):
    old_doc = _fresh(ScoreRecord, aged.old).document
    new_doc = _fresh(ScoreRecord, aged.new).document
    assert "acme-analyst" in old_doc["individual"]
    new_people = _people_data(aged.new)
    assert all(_people_data(aged.old).values()) and new_people["skill_states"]

    done = purge(aged.now, 24)

    assert [p.exercise_id for p in done] == [aged.old]
    counts = done[0].counts
    assert counts["skill_states"] > 0 and counts["contests"] == 1
    assert counts["scored_people"] == len(old_doc["individual"])
    assert counts["activity_rows"] >= 4  # response, ack, chat, crisis reply
    assert counts["chat_messages"] == 1 and counts["crisis_replies"] == 1
    assert counts["console_links"] >= 2  # the acknowledged alert, the response
    assert _people_data(aged.old) == {"skill_states": 0, "contests": 0, "actors": 0}
    stored = _fresh(ScoreRecord, aged.old).document
    assert stored["individual"] == {}
    assert _team_sections(stored) == _team_sections(old_doc)
    assert "acme-analyst" not in str(stored) and "acme-lead" not in str(stored)

    activity = _rows(sa.select(Activity).where(Activity.exercise_id == aged.old))
    actors = {row.payload.get("actor") for row in activity}
    assert actors == {"participant-1", "participant-2"}
    chat = next(row for row in activity if row.kind == "chat")
    lead = next(row for row in activity if row.kind == "crisis_reply")
    assert chat.payload["fields"]["mentions"] == [lead.payload["actor"]]
    assert "acme-" not in str([row.payload for row in activity])
    (message,) = _rows(sa.select(ChatMessage))
    assert message.body == REMOVED_TEXT and message.author_id is None
    assert message.mentions == []
    (reply,) = _rows(sa.select(CrisisReply))
    assert reply.text == REMOVED_TEXT and reply.actor_id is None
    assert all(
        row.assignee_id is None and row.updated_by_id is None
        for row in _rows(sa.select(AlertTriage))
    )
    (handoff,) = [row for row in activity if row.kind == "handoff"]
    assert handoff.payload["fields"]["to"] == lead.payload["actor"]
    assert handoff.payload["targets"] == [lead.payload["actor"]]
    assert handoff.payload["fields"]["note"]["open_items"] is True
    (ticket,) = _rows(sa.select(Incident))
    assert ticket.created_by_id is None and ticket.assignees == []
    assert all(entry.actor_id is None for entry in ticket.entries)
    assert "acme-" not in str([(e.text, e.data) for e in ticket.entries])
    assert ticket.title == "Ransomware on a workstation", "the ticket itself stays"
    responses = _rows(
        sa.select(ResponseActionRecord).where(
            ResponseActionRecord.exercise_id == aged.old
        )
    )
    assert responses and all(row.actor_id is None for row in responses)
    journal = _rows(
        sa.select(ExerciseEvent.payload).where(ExerciseEvent.exercise_id == aged.old)
    )
    assert "acme-analyst" not in str(journal) and "acme-lead" not in str(journal)

    # The newer exercise keeps everything.
    assert _fresh(ScoreRecord, aged.new).document == new_doc
    assert _people_data(aged.new) == new_people

    marker = _fresh(RetentionPurge, aged.old)
    assert marker.months == 24 and marker.counts == counts
    assert marker.purged_at == aged.now
    (audit,) = _rows(
        sa.select(AuditEntry).where(AuditEntry.action == "review.retention_purge")
    )
    assert audit.target_id == str(aged.old) and audit.detail["counts"] == counts
    assert audit.detail["months"] == 24


def test_the_team_score_is_computed_again_from_the_pseudonymised_log(app, aged):
    before = _fresh(ScoreRecord, aged.old)
    original, revision = _team_sections(before.document), before.revision
    purge(aged.now, 24)
    again = scores.rescore_now(aged.old, None, "after the purge")
    assert again.revision == revision + 1
    assert _team_sections(again.document) == original
    assert again.document["individual"] == {}
    assert _people_data(aged.old)["skill_states"] == 0, "no skill state comes back"
    # The scorer still tells the two people apart, by their pseudonyms.
    scored = scores.scorer_input(db.session.get(Exercise, aged.old))
    assert {row.actor for row in scored.activity} == {"participant-1", "participant-2"}


def test_scoring_again_rescores_the_later_exercises_its_skill_states_feed(aged):
    old_revision = _fresh(ScoreRecord, aged.old).revision
    new_revision = _fresh(ScoreRecord, aged.new).revision
    scores.rescore_now(aged.old, aged.drill.manager, "grade changed")
    assert _fresh(ScoreRecord, aged.old).revision == old_revision + 1
    assert _fresh(ScoreRecord, aged.new).revision == new_revision + 1
    chained = _rows(
        sa.select(AuditEntry).where(
            AuditEntry.action == "review.score",
            AuditEntry.target_id == str(aged.new),
        )
    )[-1]
    assert chained.detail["reason"] == (
        f"skill priors changed: exercise {aged.old} was scored again"
    )
    # The later exercise's states were computed from the earlier one's.
    document, _ = scores.compute(_fresh(Exercise, aged.new))
    assert (
        _fresh(ScoreRecord, aged.new).document["individual"] == (document["individual"])
    )
    # Scoring the later one again touches nothing earlier.
    scores.rescore_now(aged.new, aged.drill.manager, "requested")
    assert _fresh(ScoreRecord, aged.old).revision == old_revision + 1


def test_a_purged_exercise_feeds_no_later_skills_so_nothing_is_chained(aged):
    purge(aged.now, 24)
    new_revision = _fresh(ScoreRecord, aged.new).revision
    scores.rescore_now(aged.old, None, "after the purge")
    assert _fresh(ScoreRecord, aged.new).revision == new_revision


def test_nothing_can_be_contested_after_the_purge(aged):
    purge(aged.now, 24)
    before = row_counts()
    exercise = _fresh(Exercise, aged.old)
    with pytest.raises(Conflict, match="retention policy"):
        records.contest(
            exercise,
            aged.drill.analyst,
            ContestIn(item="stage delivery", reason="It was detected earlier."),
        )
    assert row_counts() == before


def test_a_second_purge_changes_nothing(aged):
    purge(aged.now, 24)
    before = row_counts()
    document = _fresh(ScoreRecord, aged.old).document
    assert purge(aged.now, 24) == []
    assert purge(aged.now + timedelta(days=1), 24) == []
    assert row_counts() == before
    assert _fresh(ScoreRecord, aged.old).document == document


def _ended_months_ago(exercise_id: int, months: int) -> None:
    with write_transaction():
        exercise = db.session.get(Exercise, exercise_id)
        exercise.ended_at = months_before(datetime.now(UTC), months)


def test_a_dry_run_changes_nothing_and_the_command_prints_counts(app, aged):
    # The command reads the clock: the drills ended 25 and 23 months ago.
    _ended_months_ago(aged.old, 25)
    _ended_months_ago(aged.new, 23)
    runner = app.test_cli_runner()
    before = row_counts()
    old_doc = _fresh(ScoreRecord, aged.old).document

    shown = runner.invoke(cli, ["retention", "purge", "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert row_counts() == before
    assert _fresh(ScoreRecord, aged.old).document == old_doc
    assert "kept 24 months after ENDEX (dry run: nothing changed)" in shown.output
    assert f"exercise {aged.old} 'Drill acme'" in shown.output
    assert f"exercise {aged.new} " not in shown.output
    assert "would remove" in shown.output and "1 contest(s)" in shown.output
    assert "1 exercise(s) would be purged" in shown.output

    done = runner.invoke(cli, ["retention", "purge"])
    assert done.exit_code == 0, done.output
    assert (
        done.output.replace("removed", "would remove")
        .replace("1 exercise(s) purged", "1 exercise(s) would be purged")
        .splitlines()[1:]
        == shown.output.splitlines()[1:]
    )
    assert _fresh(RetentionPurge, aged.old) is not None
    assert _fresh(RetentionPurge, aged.new) is None
    assert _people_data(aged.old)["skill_states"] == 0

    nothing = runner.invoke(cli, ["retention", "purge"])
    assert nothing.exit_code == 0 and "nothing to purge" in nothing.output


def test_the_dry_run_counts_are_what_the_purge_removes(aged):
    before = row_counts()
    dry = purge(aged.now, 24, dry_run=True)
    assert row_counts() == before
    done = purge(aged.now, 24)
    assert [p.exercise_id for p in dry] == [p.exercise_id for p in done] == [aged.old]
    assert dry[0].counts == done[0].counts and dry[0].total > 0


def test_the_debrief_team_and_hr_views_work_after_the_purge(app, aged):
    purge(aged.now, 24)
    lead = _signed_in(app, "acme-lead")
    page = lead.get(f"/review/exercises/{aged.old}").get_data(as_text=True)
    assert "Individual data was removed on" in page and "retention policy" in page
    assert aged.now.strftime("%Y-%m-%d") in page
    assert "Team profile" in page
    body = lead.get(f"/api/v1/review/exercises/{aged.old}").get_json()
    assert body["document"]["individual"] == {}
    assert body["individual_data_purged_at"].startswith(aged.now.strftime("%Y-%m-%d"))
    assert body["auto_score_error"] is None
    assert body["document"]["tes"]["tes"] == _fresh(ScoreRecord, aged.old).tes
    report = lead.get(f"/review/exercises/{aged.old}/report").get_data(as_text=True)
    assert "under the retention policy (24 months after ENDEX)" in report
    newer = lead.get(f"/review/exercises/{aged.new}").get_data(as_text=True)
    assert "Individual data was removed" not in newer

    team = lead.get(f"/api/v1/review/teams/{aged.drill.team_id}")
    assert team.status_code == 200
    trend = next(t for t in team.get_json()["tables"] if t["name"] == "trend")
    assert len(trend["rows"]) == 2, "both exercises stay on the team's trend"
    hr = _signed_in(app, "acme-hr").get("/api/v1/review/hr").get_json()
    (mine,) = hr["teams"]
    assert mine["aggregated"] is True
    trend = next(t for t in mine["tables"] if t["name"] == "trend")
    assert len(trend["rows"]) == 2


def test_the_engine_purges_once_a_day(app, aged):
    # At first the newer exercise is half an hour short of the policy.
    first = months_before(aged.new_end, -24) - timedelta(minutes=30)
    engine = Engine(app)
    assert engine.tick(first).purged == [aged.old]
    assert engine.tick(first + timedelta(hours=1)).purged == []
    assert _fresh(RetentionPurge, aged.new) is None, "not due until tomorrow's run"
    assert engine.tick(first + timedelta(days=1, minutes=1)).purged == [aged.new]
    assert engine.tick(first + timedelta(days=2, minutes=2)).purged == []
    audits = _rows(
        sa.select(AuditEntry).where(AuditEntry.action == "review.retention_purge")
    )
    assert sorted(a.target_id for a in audits) == sorted([str(aged.old), str(aged.new)])


def test_an_exercise_past_the_policy_is_not_scored_automatically(app, aged):
    lifecycle.endex(
        make_drill(slug="globex").exercise_id, None, aged.now, actor_name="cli"
    )
    later = aged.now + timedelta(days=800)
    summary = Engine(app).tick(later)
    assert summary.scored == [] and summary.errors == []


@pytest.mark.parametrize(
    ("year", "month", "day", "months", "expected"),
    [
        (2026, 3, 31, 1, (2026, 2, 28)),
        (2024, 3, 31, 1, (2024, 2, 29)),
        (2026, 1, 15, 25, (2023, 12, 15)),
        (2023, 12, 15, -25, (2026, 1, 15)),
    ],
)
def test_months_are_calendar_months(year, month, day, months, expected):
    moment = datetime(year, month, day, 12, 30, tzinfo=UTC)
    result = months_before(moment, months)
    assert (result.year, result.month, result.day) == expected
    assert (result.hour, result.minute, result.tzinfo) == (12, 30, UTC)


@pytest.mark.parametrize("value", ["0", "-3", "abc", "24.5", "121", "", True, 0])
def test_a_malformed_retention_setting_is_refused(tmp_path, monkeypatch, value):
    with pytest.raises(ConfigError, match="RETENTION_INDIVIDUAL_MONTHS"):
        _make_app(tmp_path, monkeypatch, RETENTION_INDIVIDUAL_MONTHS=value)
    monkeypatch.setenv("SOCDRILL_RETENTION_INDIVIDUAL_MONTHS", str(value))
    with pytest.raises(ConfigError, match="SOCDRILL_RETENTION_INDIVIDUAL_MONTHS"):
        _make_app(tmp_path, monkeypatch)


def test_the_retention_period_defaults_to_24_months(tmp_path, monkeypatch):
    assert _make_app(tmp_path, monkeypatch).config["RETENTION_INDIVIDUAL_MONTHS"] == 24
    monkeypatch.setenv("SOCDRILL_RETENTION_INDIVIDUAL_MONTHS", " 36 ")
    assert _make_app(tmp_path, monkeypatch).config["RETENTION_INDIVIDUAL_MONTHS"] == 36
