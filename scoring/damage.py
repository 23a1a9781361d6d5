"""B5 damage prevented, in business points accrued in scenario time.

A stage runs only if its preconditions are still uncontained at its inject
(conditional replay records it; otherwise the same rule is evaluated here). A run stage
costs its instant damage plus ``rate · Δσ`` scenario minutes, from its start until it
is contained, its impact ends, or the exercise ends. ``D_max`` is the same sum with no
response at all. Stages marked unpreventable are left out of both sums (the worked
example leaves the initial foothold out of ``D_real`` as well as ``D_max``); stages the
exercise never reached are left out too, so an early ENDEX earns nothing.
"""

from __future__ import annotations

from scoring.context import Context
from scoring.response import ResponseLedger
from scoring.settings import MINUTE
from scoring.timings import StageTiming


def stage_executed(ctx: Context, ledger: ResponseLedger, stage_id: str) -> bool | None:
    """Whether a stage ran: recorded, or counterfactual at its inject; None when the
    exercise never reached it."""
    stage = ctx.stages[stage_id]
    if stage.executed is not None:
        return stage.executed
    t_inj = ctx.t_inj.get(stage_id)
    if t_inj is None:
        return None
    return not ledger.precondition_broken(stage, t_inj)


def damage_prevented(
    ctx: Context, ledger: ResponseLedger, timings: dict[str, StageTiming]
) -> dict[str, object]:
    """``1 − D_real / D_max`` with the per-stage ledger; ``score`` None if D_max = 0."""
    clock = ctx.exercise.clock
    sigma_end = clock.scenario_at_active(ctx.t_end)
    d_real = d_max = 0.0
    rows = []
    for stage in ctx.stages.values():
        executed = stage_executed(ctx, ledger, stage.id)
        t_inj = ctx.t_inj.get(stage.id)
        if stage.unpreventable or executed is None:
            rows.append({"stage": stage.id, "executed": executed, "counted": False})
            continue
        rate = stage.damage_rate / MINUTE  # points per scenario second
        if t_inj is None:  # prevented before its first log line: the whole impact
            real = 0.0
            worst = stage.damage + rate * stage.duration
        else:
            sigma_start = clock.scenario_at_active(t_inj)
            sigma_stop = min(sigma_start + stage.duration, sigma_end)
            worst = stage.damage + rate * max(0.0, sigma_stop - sigma_start)
            real = 0.0
            if executed:
                t_cont = timings[stage.id].t_cont
                if t_cont is not None:
                    sigma_cont = max(clock.scenario_at_active(t_cont), sigma_start)
                    sigma_stop = min(sigma_stop, sigma_cont)
                real = stage.damage + rate * max(0.0, sigma_stop - sigma_start)
        d_real += real
        d_max += worst
        rows.append(
            {
                "stage": stage.id,
                "executed": executed,
                "counted": True,
                "damage": real,
                "damage_max": worst,
            }
        )
    score = None if d_max == 0 else max(0.0, min(1.0, 1.0 - d_real / d_max))
    return {
        "score": score,
        "d_real": d_real,
        "d_max": d_max,
        "stages": rows,
        "c_eff": clock.effective_speed(),
    }
