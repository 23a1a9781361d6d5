"""Crisis communication: reply times against the scenario's target, beside TES."""

from __future__ import annotations

import math

import pytest

from scoring import ExerciseClock, ScoringInputError, score_exercise
from scoring.model import CrisisMessage
from tests.unit.scoring.builders import T0, at, exercise, row


def _scored(*rows, messages, **overrides):
    return score_exercise(exercise(list(rows), crisis=tuple(messages), **overrides))


def test_a_reply_inside_the_target_scores_one_and_a_late_one_follows_the_curve():
    document = _scored(
        row("ana", "crisis_reply", 100, "cfo-call"),
        row("bob", "crisis_reply", 150, "press"),
        messages=[
            CrisisMessage("cfo-call", "phone", "CFO", at(90), reply_within=900),
            CrisisMessage("press", "media", "Journalist", at(120), reply_within=900),
        ],
    )
    section = document["crisis"]
    by_id = {m["id"]: m for m in section["messages"]}
    assert by_id["cfo-call"]["response_time"] == pytest.approx(600)
    assert by_id["cfo-call"]["within_target"] is True
    assert by_id["cfo-call"]["score"] == 1.0
    # 30 min against a 15-min target: one half-life over, half the points.
    assert by_id["press"]["response_time"] == pytest.approx(1800)
    assert by_id["press"]["score"] == pytest.approx(0.5)
    assert section["answered"] == 2 and section["within_target"] == 1
    assert section["score"] == pytest.approx(0.75)
    assert section["median_response"] == pytest.approx(1200)
    findings = [a["finding"] for a in document["aar"]["areas_for_improvement"]]
    assert "crisis message press answered 15 min over target" in findings


def test_crisis_communication_never_moves_the_team_score():
    messages = [CrisisMessage("cfo-call", "phone", "CFO", at(90), reply_within=900)]
    answered = _scored(row("ana", "crisis_reply", 95, "cfo-call"), messages=messages)
    silent = _scored(messages=messages)
    assert answered["tes"] == silent["tes"]
    assert answered["components"] == silent["components"]
    assert silent["crisis"]["messages"][0]["score"] == 0.0
    assert "crisis message cfo-call (CFO) unanswered" in [
        a["finding"] for a in silent["aar"]["areas_for_improvement"]
    ]


def test_the_first_reply_counts_and_pauses_are_not_response_time():
    clock = ExerciseClock.from_transitions(
        T0, [(at(95), "pause", None), (at(125), "resume", None)], ended_at=at(240)
    )
    document = _scored(
        row("ana", "crisis_reply", 130, "cfo-call"),
        row("bob", "crisis_reply", 131, "cfo-call"),
        messages=[CrisisMessage("cfo-call", "phone", "CFO", at(90), reply_within=900)],
        clock=clock,
    )
    message = document["crisis"]["messages"][0]
    # Shown at 90, replied at 130 wall minutes, of which 30 were paused: 10 min.
    assert message["response_time"] == pytest.approx(600)
    assert message["within_target"] is True


def test_held_messages_are_listed_apart_and_untargeted_ones_are_not_judged():
    document = _scored(
        row("ana", "crisis_reply", 50, "status"),
        messages=[
            CrisisMessage("held", "phone", "CEO", None, reply_within=600),
            CrisisMessage("status", "email", "IT", at(40)),
        ],
    )
    section = document["crisis"]
    assert section["not_shown"] == ["held"]
    assert section["judged"] == 0 and section["score"] is None
    assert section["messages"][0]["within_target"] is None


@pytest.mark.parametrize(
    ("message", "path"),
    [
        (CrisisMessage("", "phone", "CFO", at(1)), "crisis[0].id"),
        (CrisisMessage("m", "phone", "CFO", math.nan), "crisis[0].shown_at"),
        (CrisisMessage("m", "phone", "CFO", at(1), reply_within=0), "reply_within"),
        (CrisisMessage("m", "phone", "CFO", at(1), reply_within=math.inf), "reply"),
    ],
)
def test_malformed_crisis_messages_are_refused_with_their_path(message, path):
    with pytest.raises(ScoringInputError) as caught:
        _scored(messages=[message])
    assert path in str(caught.value)


def test_a_message_id_given_twice_is_refused():
    message = CrisisMessage("m", "phone", "CFO", at(1))
    with pytest.raises(ScoringInputError, match="duplicate message"):
        _scored(messages=[message, message])
