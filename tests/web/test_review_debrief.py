"""The debrief: scoring an ended exercise, its tables, grading, the improvement plan."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from scoring import Activity
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import (
    AuditEntry,
    CorrectiveAction,
    Exercise,
    IntegrityClearance,
    ScoreRecord,
    SkillSnapshot,
    TicketGradeRecord,
)
from tests.conftest import ROOT
from tests.web.conftest import Browser, row_counts
from tests.web.test_review_support import ReviewWorld


@pytest.fixture
def review(app, world) -> ReviewWorld:
    return ReviewWorld(app, world)


def _signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def _scored(app, review: ReviewWorld, username: str = "lead") -> tuple[Browser, int]:
    exercise = review.end(review.world.exercise_a)
    browser = _signed_in(app, username)
    response = browser.post(f"/review/exercises/{exercise.id}/score")
    assert response.status_code == 303, response.get_data(as_text=True)
    return browser, exercise.id


def test_scoring_an_ended_exercise_stores_the_worked_example_scores(app, review):
    _, exercise_id = _scored(app, review)
    record = db.session.get(ScoreRecord, exercise_id)
    assert record is not None and record.revision == 1
    assert round(record.tes, 1) == 74.1
    components = record.document["components"]
    assert round(components["timeliness"], 3) == 0.945
    assert round(components["damage_prevented"], 3) == 0.556
    # Every analyst's new skill cells are kept as the prior of their next exercise.
    names = set(
        db.session.scalars(
            sa.select(SkillSnapshot.user_id).where(
                SkillSnapshot.exercise_id == exercise_id
            )
        )
    )
    assert {review.world.analyst.id, review.ana2.id, review.ana3.id} <= names
    assert db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "review.score")
    )


def test_the_debrief_shows_stages_kpis_triage_damage_and_what_was_missed(app, review):
    browser, exercise_id = _scored(app, review)
    page = browser.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    for text in (
        "[EXERCISE]",
        "Stages against the SLA",
        "Key performance indicators",
        "Triage: ground truth against disposition",
        "Damage by stage",
        "What was missed and why",
        "svc_backup",  # the missed asset
        "block_ip 203.0.113.50",  # the missed response
        "S2 acknowledgement 9 min over SLA",  # an AAR seed
        'data-review-chart="timeline"',
        'data-review-chart="damage"',
        "74.1",
    ):
        assert text in page, text
    assert "<script>" not in page  # CSP: no inline script


def test_the_damage_curve_ends_at_the_documented_damage(app, review):
    _, exercise_id = _scored(app, review)
    curve = db.session.get(ScoreRecord, exercise_id).curves["damage"]
    assert curve["real"][-1] == pytest.approx(40.0)
    assert curve["worst"][-1] == pytest.approx(90.0)
    assert curve["t"] == sorted(curve["t"])


def test_a_running_exercise_cannot_be_scored_and_nothing_is_stored(app, review):
    browser = _signed_in(app, "lead")
    before = row_counts()
    response = browser.post(f"/review/exercises/{review.world.exercise_a.id}/score")
    assert response.status_code == 303
    page = browser.get("/review/").get_data(as_text=True)
    assert "Nothing changed: the debrief opens after ENDEX" in page
    assert row_counts() == before


def test_an_analyst_sees_the_debrief_only_after_endex(app, review):
    browser = _signed_in(app, "analyst")
    response = browser.get(f"/review/exercises/{review.world.exercise_a.id}")
    assert response.status_code == 409
    review.end(review.world.exercise_a)
    assert (
        browser.get(f"/review/exercises/{review.world.exercise_a.id}").status_code
        == 200
    )


def test_another_tenants_debrief_answers_404(app, review):
    browser = _signed_in(app, "manager")
    assert (
        browser.get(f"/review/exercises/{review.world.exercise_b.id}").status_code
        == 404
    )
    assert browser.get("/review/exercises/999999").status_code == 404


def test_a_grade_feeds_the_ticket_completeness_and_rescores(app, review):
    _, exercise_id = _scored(app, review)
    manager = _signed_in(app, "manager")
    before = db.session.get(ScoreRecord, exercise_id).document
    response = manager.post(
        f"/review/exercises/{exercise_id}/grades",
        {"ticket": "INC-1", "section": "impact", "grade": "P", "note": "names the ERP"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    record = db.session.get(ScoreRecord, exercise_id)
    assert record.revision == 2
    ticket = record.document["details"]["report"]["tickets"][0]
    assert ticket["fields"]["impact"] == 1.0
    assert ticket["completeness"] > before["details"]["report"]["completeness"]
    # A later grade of the same section replaces the earlier one; both are kept.
    manager.post(
        f"/review/exercises/{exercise_id}/grades",
        {"ticket": "INC-1", "section": "impact", "grade": "U"},
    )
    db.session.expire_all()
    record = db.session.get(ScoreRecord, exercise_id)
    assert record.document["details"]["report"]["tickets"][0]["fields"]["impact"] == 0
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(TicketGradeRecord))
        == 2
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"ticket": "INC-1", "section": "severity", "grade": "P"}, "section"),
        ({"ticket": "INC-1", "section": "impact", "grade": "X"}, "grade"),
        (
            {"ticket": "INC-99", "section": "impact", "grade": "P"},
            "not an incident ticket",
        ),
        ({"ticket": "DROP TABLE", "section": "impact", "grade": "P"}, "ticket"),
        ({"section": "impact", "grade": "P"}, "ticket"),
        ({"ticket": "INC-1", "section": "impact", "grade": "P", "score": "1"}, "score"),
    ],
)
def test_a_malformed_grade_is_refused_and_changes_nothing(app, review, form, message):
    _, exercise_id = _scored(app, review)
    manager = _signed_in(app, "manager")
    before = row_counts()
    response = manager.post(f"/review/exercises/{exercise_id}/grades", form)
    assert response.status_code == 303
    page = manager.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    assert "Nothing changed" in page and message in page
    after = row_counts()
    after["audit_entries"] = before["audit_entries"]  # the page read is audited
    assert after == before


def test_a_lead_cannot_grade_the_teams_own_tickets(app, review):
    browser, exercise_id = _scored(app, review)
    response = browser.post(
        f"/review/exercises/{exercise_id}/grades",
        {"ticket": "INC-1", "section": "impact", "grade": "P"},
    )
    assert response.status_code == 403


def test_corrective_actions_are_stored_and_editable(app, review):
    browser, exercise_id = _scored(app, review)
    due = (date.today() + timedelta(days=30)).isoformat()
    response = browser.post(
        f"/review/exercises/{exercise_id}/actions",
        {
            "finding": "collateral isolation of DC-01",
            "action": "Add DC-01 to the critical asset list in the playbook",
            "owner": "analyst",
            "due_date": due,
        },
    )
    assert response.status_code == 303
    action = db.session.scalars(sa.select(CorrectiveAction)).one()
    assert action.owner_id == review.world.analyst.id
    response = browser.post(
        f"/review/exercises/{exercise_id}/actions/update",
        {"id": str(action.id), "status": "done", "owner": "ana2"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    action = db.session.get(CorrectiveAction, action.id)
    assert action.status.value == "done" and action.owner_id == review.ana2.id
    page = browser.get(f"/review/exercises/{exercise_id}/report").get_data(as_text=True)
    assert "Add DC-01 to the critical asset list" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "x", "owner": "analyst-b", "due_date": "2099-01-01"}, "owner"),
        (
            {"action": "x", "owner": "analyst", "due_date": "2001-01-01"},
            "before the exercise ended",
        ),
        ({"action": "x", "owner": "analyst", "due_date": "2999-01-01"}, "two years"),
        ({"action": "x", "owner": "analyst", "due_date": "tomorrow"}, "due_date"),
        ({"action": "", "owner": "analyst", "due_date": "2099-01-01"}, "action"),
    ],
)
def test_a_malformed_corrective_action_is_refused(app, review, form, message):
    browser, exercise_id = _scored(app, review)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(CorrectiveAction))
    browser.post(f"/review/exercises/{exercise_id}/actions", form)
    page = browser.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    assert "Nothing changed" in page and message in page
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(CorrectiveAction))
        == before
    )


def test_updating_an_unknown_or_foreign_action_is_refused(app, review):
    browser, exercise_id = _scored(app, review)
    response = browser.post(
        f"/review/exercises/{exercise_id}/actions/update",
        {"id": "4242", "status": "done"},
    )
    assert response.status_code == 303
    page = browser.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    assert "no such corrective action" in page
    browser.post(f"/review/exercises/{exercise_id}/actions/update", {"id": "1"})
    page = browser.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    assert "change at least one of" in page


def test_the_lessons_learned_questions_come_from_the_scenario(app, review):
    yaml_text = (ROOT / "scenarios" / "ransomware-finance.yml").read_text()
    with write_transaction():
        db.session.get(Exercise, review.world.exercise_a.id).scenario_yaml = yaml_text
    browser, exercise_id = _scored(app, review)
    page = browser.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    assert "Lessons-learned questions" in page
    assert "first observable sign of compromise" in page


def test_clearing_an_unflagged_stage_is_refused(app, review):
    _, exercise_id = _scored(app, review)
    manager = _signed_in(app, "manager")
    before = row_counts()
    manager.post(
        f"/review/exercises/{exercise_id}/integrity", {"stage": "S1", "note": "ok"}
    )
    page = manager.get(f"/review/exercises/{exercise_id}").get_data(as_text=True)
    assert "not flagged for integrity review" in page
    after = row_counts()
    after["audit_entries"] = before["audit_entries"]
    assert after == before


def test_the_print_stylesheet_hides_navigation_and_forms(app):
    css = (Path(app.static_folder) / "css" / "print.css").read_text()
    assert "@media print" in css
    assert ".topbar" in css and "form" in css


def test_a_stage_held_for_integrity_review_is_scored_once_control_clears_it(
    app, review
):
    exercise = review.end(review.world.exercise_a)
    scored = review.inputs[exercise.id]
    # The C2 address of S3 named in a hunting finding at minute 20, long before
    # S3's first log line: the scenario leaked, S3 waits for control.
    leak = Activity(
        "analyst",
        "hunt_finding",
        scored.clock.segments[0].start + 20 * 60,
        ("203.0.113.50",),
    )
    review.inputs[exercise.id] = dataclasses.replace(
        scored, activity=(*scored.activity, leak)
    )
    lead = _signed_in(app, "lead")
    lead.post(f"/review/exercises/{exercise.id}/score")
    record = db.session.get(ScoreRecord, exercise.id)
    assert record.document["flags"]["integrity_review"] == ["S3"]
    manager = _signed_in(app, "manager")
    page = manager.get(f"/review/exercises/{exercise.id}").get_data(as_text=True)
    assert "Integrity review" in page and "Clear and score" in page
    missing_note = manager.post(
        f"/review/exercises/{exercise.id}/integrity", {"stage": "S3"}
    )
    assert missing_note.status_code == 303
    clearances = sa.select(sa.func.count()).select_from(IntegrityClearance)
    assert db.session.scalar(clearances) == 0
    assert db.session.get(ScoreRecord, exercise.id).revision == 1
    manager.post(
        f"/review/exercises/{exercise.id}/integrity",
        {"stage": "S3", "note": "the analyst had read the threat report"},
    )
    db.session.expire_all()
    record = db.session.get(ScoreRecord, exercise.id)
    assert record.revision == 2
    assert record.document["flags"]["integrity_review"] == []
    assert (
        lead.post(
            f"/review/exercises/{exercise.id}/integrity", {"stage": "S3", "note": "x"}
        ).status_code
        == 403
    )
