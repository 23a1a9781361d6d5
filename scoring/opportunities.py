"""Who had which chance to show skill in this exercise (B7 opportunities).

- triage of an alert they owned (last verdict): y = 1 if correct; ω = 1; cell
  ``scope:triage``;
- detection of a stage: y = S(TTD); ω = 1 for the first detector and 0.5 for each
  contributor with linked actions, Σω per stage capped at 2; cell ``scope:tactic``;
- a response action: y = 1 if required, 0 if collateral; ω = 1 for the executor and
  0.5 for the approver; cell ``scope:response``;
- an incident ticket: y = C; ω = the person's share of its edits; cell
  ``scope:reporting``.

Stages that were assisted or are under integrity review give no opportunity.
"""

from __future__ import annotations

from scoring.context import Context, norm
from scoring.reporting import TicketResult
from scoring.response import DISRUPTIVE, ResponseLedger
from scoring.skills import Opportunity, difficulty_of
from scoring.tickets import TicketBook
from scoring.timings import StageTiming
from scoring.triage import final_verdicts

MAX_DETECTION_WEIGHT = 2.0


def collect_opportunities(
    ctx: Context,
    timings: dict[str, StageTiming],
    ledger: ResponseLedger,
    book: TicketBook,
    tickets: list[TicketResult],
) -> list[Opportunity]:
    """Every opportunity of the exercise, stamped with the exercise end."""
    settings = ctx.settings
    at = ctx.exercise.clock.ended_at
    assert at is not None  # noqa: S101 - validated
    usable = {s for s, t in timings.items() if t.scored and not t.assisted}
    out: list[Opportunity] = []
    by_key = {norm(k): a for k, a in ctx.alerts.items()}
    for alert_key, (malicious, actor, _) in final_verdicts(ctx).items():
        alert = by_key.get(alert_key)
        if alert is None:
            continue
        if alert.stage is not None:
            if alert.stage not in usable:
                continue
            scope = ctx.stages[alert.stage].scope
        else:
            scope = alert.scope
        if not scope:
            continue
        correct = malicious == (alert.stage is not None)
        b = difficulty_of(alert.difficulty, None, settings)
        out.append(
            Opportunity(
                actor, scope, "triage", float(correct), b, 1.0, at, "triage", alert.id
            )
        )
    for stage_id in sorted(usable):
        timing = timings[stage_id]
        if not timing.detected or timing.detector is None:
            continue
        stage = ctx.stages[stage_id]
        b = difficulty_of(stage.difficulty, stage.difficulty_b, settings)
        y = timing.scores["detect"] or 0.0
        weights = [(timing.detector, 1.0)]
        budget = MAX_DETECTION_WEIGHT - 1.0
        for actor in timing.contributors:
            if budget < 0.5:
                break
            weights.append((actor, 0.5))
            budget -= 0.5
        for actor, w in weights:
            out.append(
                Opportunity(
                    actor, stage.scope, stage.tactic, y, b, w, at, "detection", stage_id
                )
            )
    required: dict[tuple[str, str], str] = {}
    for stage_id in sorted(usable):
        for r in ctx.stages[stage_id].responses:
            required.setdefault((r.action, norm(r.target)), stage_id)
    truth = {norm(e) for s in ctx.stages.values() for e in (*s.entities, *s.iocs)}
    injected = sorted((t.t_inj, s) for s, t in timings.items() if t.t_inj is not None)
    for done in ledger.done:
        key = (done.action, norm(done.target))
        if key in required:
            stage = ctx.stages[required[key]]
            y = 1.0
        elif done.action in DISRUPTIVE and key[1] not in truth:
            before = [s for t, s in injected if t <= done.t] or [s for _, s in injected]
            if not before:
                continue
            stage = ctx.stages[before[-1]]
            y = 0.0
        else:
            continue
        b = difficulty_of(stage.difficulty, stage.difficulty_b, settings)
        people = [(done.actor, 1.0)]
        if done.approver and done.approver != done.actor:
            people.append((done.approver, 0.5))
        for actor, w in people:
            out.append(
                Opportunity(
                    actor, stage.scope, "response", y, b, w, at, "response", done.target
                )
            )
    for result in tickets:
        editors = book.edits.get(result.ticket)
        if not editors:
            continue
        usable_stages = [s for s in result.stages if s in usable]
        if not usable_stages:
            continue
        top = min(usable_stages, key=lambda s: ctx.stages[s].tier)
        stage = ctx.stages[top]
        b = difficulty_of(stage.difficulty, stage.difficulty_b, settings)
        total = sum(editors.values())
        for actor, count in sorted(editors.items()):
            out.append(
                Opportunity(
                    actor,
                    stage.scope,
                    "reporting",
                    result.completeness,
                    b,
                    count / total,
                    at,
                    "ticket",
                    result.ticket,
                )
            )
    return out
