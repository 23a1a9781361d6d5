"""Investigation and reporting: which tickets cover which stages, ``t_rep``, Report.

A ticket *covers* a stage when one of its alerts, assets or IoCs links the stage and
was added no earlier than the stage's inject (minus the ingestion skew). Incident
tickets are those covering a scored stage. v1 fixes the variant without TTR:

``Report = 0.4·C + 0.3·Assets + 0.3·ATTACK``

with ``C`` the mean over scored stages of the best completeness among the tickets
covering the stage (0 when none does), and Assets and ATT&CK over the union of what
the incident tickets report. Time-to-report is a KPI (``t_rep``), not part of Report.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.assets import asset_score
from scoring.attack import attack_score
from scoring.context import Context, norm
from scoring.links import TICKET_LINK_FIELDS, RefIndex
from scoring.tickets import (
    TicketBook,
    TicketVersion,
    completeness,
    field_scores,
    grades_by_ticket,
)
from scoring.timings import StageTiming


@dataclass(slots=True)
class TicketResult:
    """One incident ticket at ENDEX."""

    ticket: str
    stages: list[str]
    q: dict[str, float]
    completeness: float


class Reporting:
    """Coverage and completeness of tickets, evaluated at any instant."""

    def __init__(
        self,
        ctx: Context,
        book: TicketBook,
        index: RefIndex,
        timings: dict[str, StageTiming],
    ) -> None:
        self.ctx = ctx
        self.book = book
        self.index = index
        self.timings = timings
        self.grades = grades_by_ticket(ctx.exercise.ticket_grades)

    def covered(self, version: TicketVersion) -> set[str]:
        """Scored stages the ticket version covers (false links excluded)."""
        eps = self.ctx.settings.ingestion_skew
        out = set()
        for (name, ref), (since, _) in version.since.items():
            if name not in TICKET_LINK_FIELDS:
                continue
            for stage, _level in self.index.resolve(ref, alerts_only=name == "alerts"):
                timing = self.timings[stage]
                if timing.scored and since >= timing.t_inj - eps:  # type: ignore[operator]
                    out.add(stage)
        return out

    def evaluate(self, ticket: str, version: TicketVersion) -> TicketResult:
        """Field scores and ``C`` of a ticket version."""
        stages = self.covered(version)
        detected = {
            s
            for s in stages
            if self.timings[s].t_det is not None and self.timings[s].t_det <= version.t  # type: ignore[operator]
        }
        timeline = self.index.stages_of(version.fields.get("timeline", ()))
        q = field_scores(
            version,
            (self.ctx.stages[s] for s in sorted(stages)),
            detected,
            timeline,
            self.grades.get(ticket, {}),
        )
        c = completeness(q, self.ctx.settings.ticket_weights)
        return TicketResult(ticket, sorted(stages), q, c)

    def report_times(self) -> dict[str, float]:
        """``t_rep`` per stage: the first send of a covering ticket with C ≥ 0.7."""
        threshold = self.ctx.settings.report_threshold
        out: dict[str, float] = {}
        for ticket, sends in self.book.sent.items():
            for t in sends:
                version = self.book.at(ticket, t)
                if version is None:
                    continue
                result = self.evaluate(ticket, version)
                if result.completeness + 1e-12 < threshold:
                    continue
                for stage in result.stages:
                    out[stage] = min(t, out.get(stage, t))
        return out

    def incident_tickets(self) -> list[TicketResult]:
        """Every ticket covering at least one scored stage, as it stood at ENDEX."""
        results = []
        for ticket in sorted(self.book.versions):
            result = self.evaluate(ticket, self.book.final(ticket))
            if result.stages:
                results.append(result)
        return results

    def score(self) -> dict[str, object]:
        """The Report component with its three parts and per-ticket detail."""
        ctx = self.ctx
        settings = ctx.settings
        scored = [s for s in ctx.stages.values() if self.timings[s.id].scored]
        tickets = self.incident_tickets()
        best: dict[str, float] = {}
        for result in tickets:
            for stage in result.stages:
                best[stage] = max(result.completeness, best.get(stage, 0.0))
        c = sum(best.get(s.id, 0.0) for s in scored) / len(scored) if scored else 0.0
        reported: dict[str, float] = {}
        names: dict[str, str] = {}
        techniques: list[str] = []
        for result in tickets:
            version = self.book.final(result.ticket)
            for (name, ref), (since, _) in version.since.items():
                if name == "assets":
                    reported[ref] = min(since, reported.get(ref, since))
            for asset in version.fields.get("assets", ()):
                names.setdefault(norm(str(asset)), str(asset))
            techniques.extend(version.fields.get("techniques", ()))
        truth = {norm(e): e for s in scored for e in s.entities}
        assets = asset_score(
            reported,
            truth,
            ctx.entity_inject,
            skew=settings.ingestion_skew,
            beta=settings.assets_beta,
            names=names,
        )
        tactics: dict[str, tuple[str, ...]] = {}
        for s in scored:
            for tech in s.techniques:
                tactics[tech] = (*tactics.get(tech, ()), s.tactic)
        attack = attack_score(tactics, techniques, ctx.exercise.technique_tactics)
        w = settings.report_weights
        score = (
            w["completeness"] * c
            + w["assets"] * assets["score"]  # type: ignore[operator]
            + w["attack"] * attack["score"]  # type: ignore[operator]
        )
        return {
            "score": score if scored else None,
            "completeness": c,
            "assets": assets,
            "attack": attack,
            "tickets": [
                {
                    "ticket": r.ticket,
                    "stages": r.stages,
                    "fields": r.q,
                    "completeness": r.completeness,
                }
                for r in tickets
            ],
        }
