"""B6 team exercise score: a profile of five components, the composite TES for
trend lines, the immediate-escalation flag, and the after-action seeds.

``TES = 100·Σ_c W_c·Score_c``. A component that does not apply (no damage at stake,
nothing to respond to) is dropped and the weights renormalised; the document says
which. Cohesion is never part of TES.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scoring.context import Context
from scoring.settings import MINUTE, Settings
from scoring.stats import quantile
from scoring.timings import StageTiming

COMPONENT_LABELS = {
    "damage_prevented": "damage prevented",
    "timeliness": "timeliness",
    "triage": "triage accuracy",
    "response": "response correctness",
    "report": "investigation and reporting",
    "crisis": "crisis communication (beside TES)",
}
ACTION_NOUNS = {
    "isolate_host": "isolation",
    "disable_account": "disabling",
    "disable_access_key": "access key disabling",
}


def team_score(
    components: Mapping[str, float | None], settings: Settings
) -> dict[str, object]:
    """TES from the components that apply, with the weights actually used."""
    weights = settings.tes_weights
    used = {k: weights[k] for k, v in components.items() if v is not None}
    total = sum(used.values())
    tes = None
    if total:
        tes = 100.0 * sum(w * components[k] for k, w in used.items()) / total  # type: ignore[operator]
    return {
        "tes": tes,
        "weights_used": {k: w / total for k, w in used.items()} if total else {},
        "not_applicable": sorted(k for k, v in components.items() if v is None),
    }


def tes_relative(
    tes: float | None, par_runs: Sequence[float], settings: Settings
) -> dict[str, object]:
    """``TES / par`` once enough reference runs exist (par = their median)."""
    if tes is None or len(par_runs) < settings.par_min_runs:
        return {"par": None, "tes_rel": None, "reference_runs": len(par_runs)}
    par = quantile(list(par_runs), 0.5)
    return {
        "par": par,
        "tes_rel": tes / par if par else None,
        "reference_runs": len(par_runs),
    }


def readiness_gap(
    announced: Sequence[float], unannounced: Sequence[float]
) -> dict[str, object]:
    """Median TES of announced runs minus unannounced ones (charted separately)."""
    a = quantile(list(announced), 0.5)
    u = quantile(list(unannounced), 0.5)
    return {
        "announced_median": a,
        "unannounced_median": u,
        "gap": None if a is None or u is None else a - u,
        "runs": {"announced": len(announced), "unannounced": len(unannounced)},
    }


def immediate_escalations(timings: Mapping[str, StageTiming]) -> list[str]:
    """Undetected P1 stages: reported at once, not at the after-action review."""
    return [
        s for s, t in timings.items() if t.scored and t.tier == "P1" and not t.detected
    ]


def _over(x: float | None, target_minutes: float) -> int | None:
    if x is None:
        return None
    over = (x - target_minutes * MINUTE) / MINUTE
    return round(over) if over > 0 else None


def _timeliness_findings(ctx: Context, timings: Mapping[str, StageTiming]) -> list[str]:
    out = []
    for timing in timings.values():
        if not timing.scored:
            continue
        sla = ctx.sla(ctx.stages[timing.stage])
        if not timing.detected:
            out.append(f"{timing.stage} not detected")
            continue
        for name, x, target in (
            ("acknowledgement", timing.tta if timing.tta_applicable else None, sla.ack),
            ("detection", timing.ttd, sla.detect),
            ("containment", timing.ttc, sla.contain),
        ):
            minutes = _over(x, target)
            if minutes:
                out.append(f"{timing.stage} {name} {minutes} min over SLA")
        if timing.contain_judged and timing.t_cont is None:
            out.append(f"{timing.stage} not contained")
    return out


def after_action(
    ctx: Context,
    timings: Mapping[str, StageTiming],
    components: Mapping[str, float | None],
    details: Mapping[str, Mapping[str, object]],
) -> dict[str, object]:
    """AAR/IP seeds: strengths, areas for improvement (lowest components first) and
    an empty corrective-action list for the lead to fill (owner, due date)."""
    findings: dict[str, list[str]] = {k: [] for k in components}
    findings["timeliness"] = _timeliness_findings(ctx, timings)
    report = details["report"]
    incomplete: list[str] = []
    for ticket in report["tickets"]:  # type: ignore[union-attr]
        for name, q in ticket["fields"].items():
            if q < 1 and f"{name} section incomplete" not in incomplete:
                incomplete.append(f"{name} section incomplete")
    findings["report"] = incomplete
    findings["report"] += [f"{a} missed" for a in report["assets"]["missed"]]  # type: ignore[index]
    findings["report"] += [
        f"ATT&CK {t} not tagged"
        for t in report["attack"]["missed"]  # type: ignore[index]
    ]
    response = details["response"]
    findings["response"] = [
        f"collateral {ACTION_NOUNS.get(c['action'], c['action'])} of {c['target']}"
        for c in response["collateral"]  # type: ignore[union-attr]
    ] + [f"{m['action']} {m['target']} not done" for m in response["missed"]]  # type: ignore[union-attr]
    triage = details["triage"]
    if triage["fn"]:
        findings["triage"].append(f"{triage['fn']} attack alert(s) closed as benign")
    if triage["fp"]:
        findings["triage"].append(f"{triage['fp']} benign alert(s) escalated")
    if triage["unhandled_attack"]:
        findings["triage"].append(
            f"{triage['unhandled_attack']} attack alert(s) unhandled at ENDEX"
        )
    damage = details["damage_prevented"]
    if damage["d_real"]:
        findings["damage_prevented"].append(
            f"{damage['d_real']:.0f} of {damage['d_max']:.0f} damage points incurred"
        )
    ranked = sorted(
        (k for k, v in components.items() if v is not None), key=lambda k: components[k]
    )
    areas = [
        {"component": k, "score": components[k], "finding": f}
        for k in ranked
        for f in findings.get(k, [])
    ]
    strengths = [
        {
            "component": k,
            "score": components[k],
            "finding": f"strong {COMPONENT_LABELS[k]}",
        }
        for k in reversed(ranked)
        if components[k] is not None and components[k] >= 0.9  # type: ignore[operator]
    ]
    strengths += [
        {
            "component": "timeliness",
            "score": t.time_score,
            "finding": f"{s} within every SLA",
        }
        for s, t in timings.items()
        if t.scored and t.time_score == 1.0
    ]
    return {
        "strengths": strengths,
        "areas_for_improvement": areas,
        "corrective_actions": [],
    }
