"""Response actions: when each is in effect, containment, and B4.5 correctness.

``Resp = (|R_done ∩ R_req| / |R_req|) · (1 − min(1, Σ collateral))`` where isolating or
disabling an asset outside the ground truth costs 0.2 if it is business-critical (DC,
ERP, OT controller) and 0.05 otherwise (defaults). An undo (release, enable, unblock)
ends an action's effect, which matters for containment and preconditions; it never
erases collateral damage already done.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from scoring.context import Context, norm
from scoring.model import RequiredResponse, Stage
from simulator.vocabulary import CONDITIONS

UNDO = {
    "release_host": "isolate_host",
    "enable_account": "disable_account",
    "unblock_ip": "block_ip",
    "unblock_domain": "block_domain",
}
# Actions that take an asset away from the business (collateral when unneeded).
DISRUPTIVE = frozenset({"isolate_host", "disable_account", "disable_access_key"})


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """One response action from the log."""

    action: str
    target: str
    t: float
    actor: str
    approver: str | None


class ResponseLedger:
    """Intervals during which each (action, target) is in effect."""

    def __init__(self, ctx: Context) -> None:
        self.done: list[ResponseDone] = []
        self._intervals: dict[tuple[str, str], list[list[float]]] = {}
        for item in ctx.activity:
            row = item.row
            if row.action != "response":
                continue
            action = row.fields["action"]
            target = row.targets[0]
            approver = row.fields.get("approved_by")
            self.done.append(ResponseDone(action, target, item.t, row.actor, approver))
            if action in UNDO:
                spans = self._intervals.get((UNDO[action], norm(target)), [])
                if spans and spans[-1][1] == math.inf:
                    spans[-1][1] = item.t
                continue
            spans = self._intervals.setdefault((action, norm(target)), [])
            if not spans or spans[-1][1] != math.inf:
                spans.append([item.t, math.inf])

    def in_effect(self, action: str, target: str, t: float) -> bool:
        """Whether ``action`` on ``target`` holds at active time ``t``."""
        spans = self._intervals.get((action, norm(target)), ())
        return any(start <= t < end for start, end in spans)

    def all_in_effect_from(self, required: Iterable[RequiredResponse]) -> float | None:
        """The first instant at which every required action holds at once."""
        required = list(required)
        if not required:
            return None
        candidates = sorted(
            {
                start
                for r in required
                for start, _ in self._intervals.get((r.action, norm(r.target)), ())
            }
        )
        for t in candidates:
            if all(self.in_effect(r.action, r.target, t) for r in required):
                return t
        return None

    def fraction_in_effect(
        self, required: Iterable[RequiredResponse], t: float
    ) -> float:
        """ρ(t): share of required actions holding at ``t`` (partial containment)."""
        required = list(required)
        if not required:
            return 0.0
        held = sum(self.in_effect(r.action, r.target, t) for r in required)
        return held / len(required)

    def precondition_broken(self, stage: Stage, t: float) -> bool:
        """Whether a response in effect at ``t`` breaks one of the stage's
        ``requires`` conditions (so the stage could not run)."""
        for pre in stage.requires:
            breakers = CONDITIONS[pre.condition].split("|")
            if any(self.in_effect(a, pre.target, t) for a in breakers):
                return True
        return False


def critical_responses(stage: Stage) -> list[RequiredResponse]:
    """The containment-critical part of a stage's required responses."""
    return [r for r in stage.responses if r.containment_critical]


def response_score(
    ctx: Context, ledger: ResponseLedger, scored: Iterable[Stage]
) -> dict[str, object]:
    """B4.5 over the stages that ran; ``score`` is None when nothing was required."""
    settings = ctx.settings
    required = {(r.action, norm(r.target)): r for s in scored for r in s.responses}
    done = {(d.action, norm(d.target)): d for d in ledger.done}
    truth = {norm(e) for s in ctx.stages.values() for e in (*s.entities, *s.iocs)}
    critical = {norm(a) for a in ctx.exercise.critical_assets}
    correct = sorted(k for k in required if k in done)
    missed = [required[k] for k in sorted(required) if k not in done]
    collateral = []
    for key in sorted(done):
        d = done[key]
        if d.action in DISRUPTIVE and key[1] not in truth:
            is_critical = key[1] in critical
            penalty = (
                settings.collateral_critical
                if is_critical
                else settings.collateral_other
            )
            collateral.append(
                {
                    "action": d.action,
                    "target": d.target,
                    "business_critical": is_critical,
                    "penalty": penalty,
                }
            )
    penalty = min(1.0, sum(c["penalty"] for c in collateral))
    score = None
    if required:
        score = len(correct) / len(required) * (1.0 - penalty)
    return {
        "score": score,
        "required": len(required),
        "done_correct": len(correct),
        "missed": [{"action": r.action, "target": r.target} for r in missed],
        "collateral": collateral,
        "collateral_penalty": penalty,
    }
