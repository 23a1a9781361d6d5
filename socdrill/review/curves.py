"""The damage curve of a debrief: business points incurred over active time.

The score document gives each stage's total; the curve needs the scenario's instant
damage and rate too, so it is drawn from the scorer's input when the exercise is
scored and stored beside the document. Damage accrues in scenario time (B5), so a
faster run bends the curve upwards; the x axis is active minutes like every other
time of the debrief.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import scoring
from scoring.settings import MINUTE

SAMPLES = 60
STEP = 0.001  # seconds


def _accrued(
    clock: scoring.ExerciseClock,
    start: float,
    stop: float,
    instant: float,
    rate: float,
    t: float,
) -> float:
    """Points a stage has cost at active second ``t`` (0 before it starts)."""
    if t < start:
        return 0.0
    until = min(t, stop)
    scenario = clock.scenario_at_active(until) - clock.scenario_at_active(start)
    return instant + rate / MINUTE * max(0.0, scenario)


def damage_curve(
    exercise: scoring.Exercise, document: Mapping[str, Any]
) -> dict[str, list[float]]:
    """``{"t": minutes, "real": points, "worst": points}`` over the exercise."""
    clock = exercise.clock
    t_end = float(document["exercise"]["t_end"] or 0.0)
    stages = {s.id: s for s in exercise.stages}
    timing = {row["stage"]: row for row in document["stages"]}
    rows = document["details"]["damage_prevented"]["stages"]
    parts: list[tuple[float, float, float, float, float, bool]] = []
    for row in rows:
        stage = stages.get(row["stage"])
        t_inj = timing.get(row["stage"], {}).get("t_inj")
        if not row.get("counted") or stage is None or t_inj is None:
            continue
        duration_end = clock.active_at_scenario(
            clock.scenario_at_active(t_inj) + stage.duration
        )
        worst_stop = min(duration_end, t_end)
        t_cont = timing[row["stage"]].get("t_cont")
        real_stop = min(worst_stop, t_cont) if t_cont is not None else worst_stop
        parts.append(
            (
                t_inj,
                real_stop,
                worst_stop,
                stage.damage,
                stage.damage_rate,
                bool(row.get("executed")),
            )
        )
    instants = {0.0, t_end}
    for start, real_stop, worst_stop, *_ in parts:
        # An instant just before the start draws instant damage as a vertical step.
        instants |= {max(0.0, start - STEP), start, real_stop, worst_stop}
    if t_end > 0:
        instants |= {t_end * i / SAMPLES for i in range(SAMPLES)}
    times = sorted(t for t in instants if 0.0 <= t <= t_end)
    curve: dict[str, list[float]] = {"t": [], "real": [], "worst": []}
    for t in times:
        real = worst = 0.0
        for start, real_stop, worst_stop, instant, rate, executed in parts:
            worst += _accrued(clock, start, worst_stop, instant, rate, t)
            if executed:
                real += _accrued(clock, start, real_stop, instant, rate, t)
        curve["t"].append(round(t / MINUTE, 3))
        curve["real"].append(round(real, 3))
        curve["worst"].append(round(worst, 3))
    return curve
