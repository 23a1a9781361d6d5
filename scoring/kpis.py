"""Headline KPIs, unweighted: % of stages within SLA, median and p90 per time, the
Kaplan–Meier median time to detect with "detected x of n", and per-alert MTTA."""

from __future__ import annotations

from collections.abc import Mapping

from scoring.context import Context, norm
from scoring.settings import MINUTE
from scoring.stats import kaplan_meier_median, quantile
from scoring.timings import StageTiming


def _summary(values: list[float], within: int, judged: int) -> dict[str, object]:
    return {
        "within_sla": within / judged if judged else None,
        "judged": judged,
        "median": quantile(values, 0.5),
        "p90": quantile(values, 0.9),
    }


def kpis(ctx: Context, timings: Mapping[str, StageTiming]) -> dict[str, object]:
    """KPIs over scored stages (seconds of active time)."""
    scored = [t for t in timings.values() if t.scored]
    out: dict[str, object] = {}
    for name, attr, judged_if in (
        ("ack", "tta", lambda t: t.tta_applicable),
        ("detect", "ttd", lambda t: True),
        ("contain", "ttc", lambda t: t.contain_judged),
        ("report", "ttr", lambda t: t.report_judged),
    ):
        judged = [t for t in scored if judged_if(t)]
        values = [getattr(t, attr) for t in judged if getattr(t, attr) is not None]
        within = 0
        for t in judged:
            x = getattr(t, attr)
            target = getattr(ctx.sla(ctx.stages[t.stage]), name) * MINUTE
            within += x is not None and t.detected and x <= target
        out[name] = _summary(values, within, len(judged))
    times = [t.ttd if t.detected else t.ttd_censored for t in scored]
    detected = [t.detected for t in scored]
    km = kaplan_meier_median([x or 0.0 for x in times], detected)
    out["mttd_km_median"] = km
    out["mttd_display"] = (
        f"{km / MINUTE:.0f} min" if km is not None else "> T_end (under half detected)"
    )
    out["detected"] = {"x": sum(detected), "n": len(scored)}
    first_ack: dict[str, float] = {}
    for item in ctx.activity:
        if item.row.action in ("ack", "verdict"):
            for target in item.row.targets:
                first_ack.setdefault(norm(target), item.t)
    per_alert = [
        first_ack[norm(a)] - ctx.alert_t[a] for a in ctx.alerts if norm(a) in first_ack
    ]
    out["alert_queue_mtta_median"] = quantile(per_alert, 0.5)
    return out
