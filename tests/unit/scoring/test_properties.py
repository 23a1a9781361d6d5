"""Hypothesis properties of the scoring contract."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import score_exercise
from tests.unit.scoring.builders import exercise, row, stage, stage_of

minutes = st.floats(min_value=0, max_value=239, allow_nan=False)
VERDICT = st.sampled_from(["tp", "fp", "benign", "escalated"])
ALERTS = [("al-1", 12, "X"), ("al-2", 14, "X"), ("b-1", 15, None), ("b-2", 16, None)]


@st.composite
def activity(draw):
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["ack", "verdict", "response", "hunt", "ticket"]))
        t = draw(minutes)
        alert = draw(st.sampled_from([a[0] for a in ALERTS]))
        if kind == "ack":
            rows.append(row("a", "ack", t, alert))
        elif kind == "verdict":
            rows.append(row("a", "verdict", t, alert, verdict=draw(VERDICT)))
        elif kind == "response":
            target = draw(st.sampled_from(["HOST-1", "DC-01", "WS-3"]))
            rows.append(row("a", "response", t, target, action="isolate_host"))
        elif kind == "hunt":
            rows.append(
                row(
                    "a",
                    "hunt_finding",
                    t,
                    draw(st.sampled_from(["HOST-1", "evil.example.test"])),
                )
            )
        else:
            rows.append(
                row(
                    "a",
                    "ticket_update",
                    t,
                    ticket="T",
                    alerts=[alert],
                    severity=draw(st.sampled_from(["P1", "P4"])),
                    assets=draw(
                        st.lists(
                            st.sampled_from(["HOST-1", "alice", "X-9"]), max_size=3
                        )
                    ),
                    techniques=draw(
                        st.lists(st.sampled_from(["T1059.001", "T1003"]), max_size=2)
                    ),
                )
            )
        if draw(st.booleans()):
            rows.append(row("b", "report_sent", draw(minutes), ticket="T"))
    return rows


def in_unit_interval(value):
    return value is None or (0.0 <= value <= 1.0 and not math.isnan(value))


@settings(max_examples=120, deadline=None)
@given(activity(), st.floats(min_value=0, max_value=200))
def test_every_score_stays_between_zero_and_one(rows, inject):
    doc = score_exercise(exercise(rows, alerts=ALERTS, injects={"X": inject}))
    for value in doc["components"].values():
        assert in_unit_interval(value)
    for s in doc["stages"]:
        assert in_unit_interval(s["time_score"])
        assert all(in_unit_interval(v) for v in s["scores"].values())
    assert doc["tes"]["tes"] is None or 0.0 <= doc["tes"]["tes"] <= 100.0


@settings(max_examples=80, deadline=None)
@given(
    st.floats(min_value=11, max_value=239),
    st.floats(min_value=0, max_value=200),
    st.floats(min_value=11, max_value=239),
)
def test_a_faster_detection_never_lowers_the_stage_score(t_det, earlier_by, t_cont):
    def stage_score(detected_at):
        rows = [
            row("a", "ack", 13, "al-1"),
            row("a", "verdict", detected_at, "al-1", verdict="tp"),
            row("ops", "response", t_cont, "SRV-9", action="isolate_host"),
        ]
        return stage_of(score_exercise(exercise(rows)))["time_score"]

    faster = max(11.0, t_det - earlier_by)
    assert stage_score(faster) >= stage_score(t_det) - 1e-12


@settings(max_examples=80, deadline=None)
@given(
    activity(),
    st.sampled_from(["HOST-1", "SRV-1", "alice"]),
    st.floats(min_value=0, max_value=239),
)
def test_adding_a_correct_response_never_lowers_the_response_score(rows, target, t):
    from scoring import RequiredResponse

    stages = (
        stage(
            responses=(
                RequiredResponse("isolate_host", "HOST-1"),
                RequiredResponse("isolate_host", "SRV-1"),
                RequiredResponse("disable_account", "alice"),
            ),
            entities=("HOST-1", "SRV-1", "alice"),
        ),
    )
    action = "disable_account" if target == "alice" else "isolate_host"
    base = score_exercise(exercise(rows, alerts=ALERTS, stages=stages))
    more = score_exercise(
        exercise(
            [*rows, row("c", "response", t, target, action=action)],
            alerts=ALERTS,
            stages=stages,
        )
    )
    before, after = base["components"]["response"], more["components"]["response"]
    if before is None:  # stage under integrity review: nothing is scored
        assert after is None
    else:
        assert after >= before - 1e-12
