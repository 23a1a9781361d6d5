"""B2 per-stage times (all in active seconds) and B3 stage timeliness.

``t_inj`` first malicious log line; ``t_alert`` first alert of the stage; ``t_ack``
first acknowledgement or ownership of one of its alerts; ``t_det`` first qualifying
detection; ``t_cont`` first instant all containment-critical actions hold; ``t_rep``
first send of a covering ticket with ``C ≥ 0.7``. The edge cases of B2 are applied
here: censoring, false links before the inject, hunting before any alert, containment
without detection, an exercise ending inside the SLA window, assisted stages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from scoring.context import Context
from scoring.curves import time_score
from scoring.links import LinkEvent
from scoring.response import ResponseLedger, critical_responses
from scoring.settings import MINUTE


@dataclass(slots=True)
class StageTiming:
    """Times, flags and scores of one stage. Actors stay in ``detector`` and
    ``contributors`` and are only published in the individual section."""

    stage: str
    tier: str
    status: str = "scored"  # scored | not_injected | integrity_review
    t_inj: float | None = None
    t_alert: float | None = None
    t_ack: float | None = None
    t_det: float | None = None
    t_cont: float | None = None
    t_rep: float | None = None
    tta: float | None = None
    ttd: float | None = None
    ttd_censored: float | None = None
    ttc: float | None = None
    ttr: float | None = None
    detected: bool = False
    proactive: bool = False
    assisted: bool = False
    tta_applicable: bool = True
    contain_judged: bool = True
    report_judged: bool = True
    contained_without_detection: bool = False
    window_cap_applied: bool = False
    containment_fraction: float = 0.0
    scores: dict[str, float | None] = field(default_factory=dict)
    time_score: float | None = None
    detector: str | None = None
    contributors: list[str] = field(default_factory=list)
    pre_inject_links: list[dict[str, object]] = field(default_factory=list)
    integrity_links: list[dict[str, object]] = field(default_factory=list)

    @property
    def scored(self) -> bool:
        """Whether the stage counts in the exercise's scores."""
        return self.status == "scored"


def _link_record(e: LinkEvent) -> dict[str, object]:
    # No actor: the log entry is for the controller's review of the scenario.
    return {"ref": e.ref, "level": f"L{e.level}", "source": e.source, "t": e.t}


def stage_times(
    ctx: Context, links: list[LinkEvent], ledger: ResponseLedger
) -> dict[str, StageTiming]:
    """Inject, alert, ack, detection and containment of every stage."""
    eps = ctx.settings.ingestion_skew
    by_stage: dict[str, list[LinkEvent]] = defaultdict(list)
    for e in links:
        by_stage[e.stage].append(e)
    first_alert: dict[str, float] = {}
    for alert_id, alert in ctx.alerts.items():
        if alert.stage is not None:
            t = ctx.alert_t[alert_id]
            first_alert[alert.stage] = min(t, first_alert.get(alert.stage, t))
    assisted = {
        target
        for item in ctx.activity
        if item.row.action == "hint"
        for target in item.row.targets
    }
    out: dict[str, StageTiming] = {}
    for stage in ctx.stages.values():
        timing = StageTiming(stage.id, stage.tier, assisted=stage.id in assisted)
        out[stage.id] = timing
        t_inj = ctx.t_inj.get(stage.id)
        if t_inj is None:
            timing.status = "not_injected"
            continue
        timing.t_inj = t_inj
        events = by_stage.get(stage.id, [])
        early = [e for e in events if e.t < t_inj - eps]
        timing.pre_inject_links = [_link_record(e) for e in early if e.level == 3]
        strong = [_link_record(e) for e in early if e.level < 3]
        if strong:
            timing.integrity_links = strong
            if stage.id not in ctx.exercise.integrity_cleared:
                timing.status = "integrity_review"
                continue
        valid = [e for e in events if e.t >= t_inj - eps]
        timing.t_alert = first_alert.get(stage.id)
        acks = [e.t for e in valid if e.level == 1 and e.source in ("ack", "verdict")]
        timing.t_ack = min(acks, default=None)
        qualifying = [e for e in valid if e.qualifying]
        if qualifying:
            first = qualifying[0]
            timing.t_det = first.t
            timing.detected = True
            timing.detector = first.actor
            others = []
            for e in valid:
                linked_action = e.source != "chat"
                if linked_action and e.actor != first.actor and e.actor not in others:
                    others.append(e.actor)
            timing.contributors = others
        critical = critical_responses(stage)
        timing.t_cont = ledger.all_in_effect_from(critical)
        timing.containment_fraction = ledger.fraction_in_effect(critical, ctx.t_end)
    return out


def score_stage(ctx: Context, timing: StageTiming) -> None:
    """Fill the per-stage time scores and ``Time_k`` (B3) from the stage's times."""
    settings = ctx.settings
    stage = ctx.stages[timing.stage]
    sla = ctx.sla(stage)
    factor = settings.half_life_factor

    def s(x: float | None, target_minutes: float) -> float:
        target = target_minutes * MINUTE
        return time_score(x, target, factor * target)

    t_inj = timing.t_inj
    assert t_inj is not None  # noqa: S101 - only scored stages get here
    w_det, w_ack, w_cont = settings.time_weights
    w_c0 = w_cont
    if timing.detected:
        assert timing.t_det is not None  # noqa: S101
        timing.ttd = max(0.0, timing.t_det - t_inj)
        detect = s(timing.ttd, sla.detect)
        if timing.assisted:
            detect = min(detect, settings.assisted_detection_cap)
        timing.proactive = timing.t_alert is None or timing.t_det < timing.t_alert
    else:
        timing.ttd_censored = ctx.t_end - t_inj
        detect = 0.0
    # Ack: N/A without an alert, or when hunting found the stage first; its weight
    # then goes to detection.
    timing.tta_applicable = timing.t_alert is not None and not timing.proactive
    ack: float | None = None
    if timing.tta_applicable:
        assert timing.t_alert is not None  # noqa: S101
        if timing.t_ack is not None:
            timing.tta = max(0.0, timing.t_ack - timing.t_alert)
        ack = s(timing.tta, sla.ack) if timing.detected else 0.0
    else:
        w_det, w_ack = w_det + w_ack, 0.0
    contain: float | None = None
    critical = critical_responses(stage)
    if not critical:
        timing.contain_judged = False
    elif timing.t_cont is not None:
        start = timing.t_det if timing.detected else t_inj
        assert start is not None  # noqa: S101
        timing.ttc = max(0.0, timing.t_cont - start)
        timing.contained_without_detection = not timing.detected
        contain = s(timing.ttc, sla.contain)
    elif timing.detected and ctx.t_end - timing.t_det < sla.contain * MINUTE:  # type: ignore[operator]
        timing.contain_judged = False
    else:
        contain = 0.0
    if not timing.contain_judged:
        w_cont = 0.0
    report: float | None = None
    if timing.detected and timing.t_rep is not None:
        timing.ttr = max(0.0, timing.t_rep - timing.t_det)  # type: ignore[operator]
        report = s(timing.ttr, sla.report)
    elif timing.detected and ctx.t_end - timing.t_det < sla.report * MINUTE:  # type: ignore[operator]
        timing.report_judged = False
    else:
        report = 0.0
    timing.scores = {"detect": detect, "ack": ack, "contain": contain, "report": report}
    parts = [(w_det, detect), (w_ack, ack or 0.0), (w_cont, contain or 0.0)]
    total = sum(w for w, _ in parts)
    timing.time_score = sum(w * v for w, v in parts) / total
    if timing.detected and critical and not timing.contain_judged:
        # Leaving containment unjudged must never reward a later detection: the
        # score is capped at what detecting at the last instant that still left a
        # full containment window, without containing, would have earned. Stages
        # injected too late for any such instant keep the plain exclusion.
        last = ctx.t_end - sla.contain * MINUTE
        if last >= t_inj:
            detect_then = s(last - t_inj, sla.detect)
            if timing.assisted:
                detect_then = min(detect_then, settings.assisted_detection_cap)
            judged = (w_det * detect_then + w_ack * (ack or 0.0)) / (
                w_det + w_ack + w_c0
            )
            if judged < timing.time_score:
                timing.time_score = judged
                timing.window_cap_applied = True


def timeliness(ctx: Context, timings: dict[str, StageTiming]) -> float | None:
    """``Σ w_k·Time_k / Σ w_k`` over scored stages, weighted by tier."""
    weights = ctx.settings.tier_weights
    num = den = 0.0
    for timing in timings.values():
        if timing.scored and timing.time_score is not None:
            w = weights[timing.tier]
            num += w * timing.time_score
            den += w
    return num / den if den else None
