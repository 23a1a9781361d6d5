"""Malformed input gets a clear error naming its place, and nothing is scored."""

from __future__ import annotations

import dataclasses

import pytest

from scoring import (
    Activity,
    Alert,
    ExerciseClock,
    InjectEvidence,
    RequiredResponse,
    ScoringInputError,
    TeamMember,
    TicketGrade,
    score_exercise,
)
from tests.unit.scoring.builders import T0, at, exercise, row, stage


def _error(ex) -> ScoringInputError:
    with pytest.raises(ScoringInputError) as err:
        score_exercise(ex)
    return err.value


@pytest.mark.parametrize(
    ("overrides", "path", "hint"),
    [
        ({"tier": "P9"}, "stages[0].tier", "P1"),
        ({"difficulty": "brutal"}, "stages[0].difficulty", "expert"),
        ({"techniques": ()}, "stages[0].techniques", "at least one"),
        ({"techniques": ("1003",)}, "stages[0].techniques[0]", "T1003.001"),
        ({"damage": -1.0}, "stages[0].damage", "negative"),
        ({"damage": float("nan")}, "stages[0].damage", "finite"),
        ({"damage_rate": 1.0}, "stages[0].duration", "duration"),
        (
            {"responses": (RequiredResponse("nuke_host", "H"),)},
            "stages[0].responses[0].action",
            "isolate_host",
        ),
    ],
)
def test_bad_stage_ground_truth(overrides, path, hint):
    err = _error(exercise(stages=(stage(**overrides),)))
    assert err.path == path and hint in str(err)


@pytest.mark.parametrize(
    ("activity", "path"),
    [
        (Activity("", "ack", at(1)), "activity[0].actor"),
        (Activity("a", "dance", at(1)), "activity[0].action"),
        (Activity("a", "ack", float("nan")), "activity[0].at"),
        (row("a", "verdict", 1, "al-1", verdict="maybe"), "activity[0].fields.verdict"),
        (row("a", "verdict", 1, "al-1"), "activity[0].fields.verdict"),
        (row("a", "response", 1, "H", action="reboot"), "activity[0].fields.action"),
        (row("a", "response", 1, action="isolate_host"), "activity[0].targets"),
        (row("a", "ticket_update", 1, colour="red"), "activity[0].ticket"),
        (row("a", "ticket_update", 1, ticket="T", colour="red"), "activity[0].fields"),
        (
            row("a", "ticket_update", 1, ticket="T", assets="HOST-1"),
            "activity[0].fields.assets",
        ),
        (
            row("a", "ticket_update", 1, ticket="T", impact=3),
            "activity[0].fields.impact",
        ),
        (
            row("a", "ticket_update", 1, ticket="T", severity="urgent"),
            "activity[0].fields.severity",
        ),
        (row("a", "handoff", 1, items=["x"]), "activity[0].fields.to"),
        (row("c", "hint", 1, "nope"), "activity[0].targets"),
    ],
)
def test_bad_activity_rows(activity, path):
    assert _error(exercise([activity])).path == path


def test_bad_alerts_evidence_and_roster():
    assert _error(exercise(alerts=[("a", 1, "ghost")])).path == "alerts[0].stage"
    twice = [("a", 1, None), ("a", 2, None)]
    assert _error(exercise(alerts=twice)).path == "alerts[1].id"
    bad_evidence = [InjectEvidence("ghost", at(1))]
    assert _error(exercise(evidence=bad_evidence)).path == "evidence[0].stage"
    inf_evidence = [InjectEvidence("X", float("-inf"))]
    assert _error(exercise(evidence=inf_evidence)).path == "evidence[0].ts"
    text_evidence = [InjectEvidence("X", at(1)), InjectEvidence("X", "soon")]  # type: ignore[arg-type]
    assert _error(exercise(evidence=text_evidence)).path == "evidence[1].ts"
    team = (TeamMember("a", "intern"),)
    assert _error(exercise(team=team)).path == "team[0].role"
    grades = (TicketGrade("T", "context", "A+"),)
    assert _error(exercise(ticket_grades=grades)).path == "ticket_grades[0].grade"
    assert _error(exercise(staffing="weekend")).path == "staffing"
    assert _error(exercise(stages=(stage(), stage()))).path == "stages[1].id"
    assert _error(dataclasses.replace(exercise(), stages=())).path == "stages"


def test_a_running_exercise_cannot_be_scored():
    running = ExerciseClock.from_transitions(T0)
    err = _error(exercise(clock=running))
    assert err.path == "clock.ended_at" and "ENDEX" in str(err)


def test_inputs_are_left_unchanged_by_scoring():
    ex = exercise([row("a", "verdict", 20, "al-1", verdict="tp")])
    before = dataclasses.replace(ex)
    snapshot = [dataclasses.astuple(a) for a in ex.activity]
    score_exercise(ex)
    assert ex == before
    assert [dataclasses.astuple(a) for a in ex.activity] == snapshot
    assert isinstance(ex.alerts[0], Alert)
