"""``score_exercise``: the one entry point that returns an exercise's score document.

The document is plain JSON-ready data carrying ``scoring_spec_version``, the settings
used and ``c_eff``, so it can be recomputed from the same inputs at any time and
compared only with like runs. Times are active seconds since the exercise start.
Per-person data lives only under ``individual`` (see :mod:`scoring.hr`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scoring.cohesion import cohesion_index
from scoring.cohesion_log import measure
from scoring.context import Context, prepare
from scoring.crisis import crisis_communication, crisis_findings
from scoring.curves import curve_points
from scoring.damage import damage_prevented, stage_executed
from scoring.kpis import kpis
from scoring.links import RefIndex, collect_links
from scoring.model import SPEC_VERSION, Exercise
from scoring.opportunities import collect_opportunities
from scoring.reporting import Reporting
from scoring.response import ResponseLedger, response_score
from scoring.settings import DEFAULT_SETTINGS, Settings
from scoring.skills import (
    Cell,
    SkillState,
    apply_opportunities,
    cell_name,
    coverage,
    display,
    qualified_scopes,
)
from scoring.team import after_action, immediate_escalations, team_score, tes_relative
from scoring.tickets import TicketBook
from scoring.timings import StageTiming, score_stage, stage_times, timeliness
from scoring.triage import triage_score

SkillStates = Mapping[str, Mapping[Cell, SkillState]]


def _stage_record(t: StageTiming) -> dict[str, Any]:
    return {
        "stage": t.stage,
        "tier": t.tier,
        "status": t.status,
        **{
            name: getattr(t, name)
            for name in (
                "t_inj",
                "t_alert",
                "t_ack",
                "t_det",
                "t_cont",
                "t_rep",
                "tta",
                "ttd",
                "ttd_censored",
                "ttc",
                "ttr",
                "detected",
                "proactive",
                "assisted",
                "tta_applicable",
                "contain_judged",
                "report_judged",
                "contained_without_detection",
                "window_cap_applied",
                "containment_fraction",
                "scores",
                "time_score",
                "pre_inject_links",
                "integrity_links",
            )
        },
    }


def _individual(
    ctx: Context,
    timings: Mapping[str, StageTiming],
    states: dict[str, dict[Cell, SkillState]],
    record: list[dict[str, object]],
) -> dict[str, Any]:
    ended = ctx.exercise.clock.ended_at or 0.0
    people: dict[str, Any] = {}

    def person(name: str) -> dict[str, Any]:
        return people.setdefault(name, {"attribution": [], "points": [], "skills": {}})

    for t in timings.values():
        if t.detector:
            person(t.detector)["attribution"].append(
                {"stage": t.stage, "role": "first detector"}
            )
        for other in t.contributors:
            person(other)["attribution"].append(
                {"stage": t.stage, "role": "contributor"}
            )
    for point in record:
        person(str(point["analyst"]))["points"].append(
            {k: v for k, v in point.items() if k != "analyst"}
        )
    touched = {str(p["analyst"]) for p in record}
    for analyst in sorted(touched):
        cells = sorted(states[analyst].items())
        person(analyst)["skills"] = {
            cell_name(cell): display(state, ended, ctx.settings)
            for cell, state in cells
        }
        # The new state, for the caller to store as the next exercise's prior.
        person(analyst)["state"] = [
            {
                "scope": cell[0],
                "tactic": cell[1],
                "theta": state.theta,
                "n": state.n,
                "updated_at": state.updated_at,
            }
            for cell, state in cells
        ]
    return dict(sorted(people.items()))


def score_exercise(
    exercise: Exercise,
    settings: Settings = DEFAULT_SETTINGS,
    skill_states: SkillStates | None = None,
) -> dict[str, Any]:
    """Score one ended exercise; raises ``ScoringInputError`` on bad input.

    ``skill_states`` are the analysts' skill cells before this exercise; the document's
    ``individual`` section shows them after it, with every point that moved them.
    """
    ctx = prepare(exercise, settings)
    book = TicketBook(ctx.activity)
    index = RefIndex(ctx)
    links = collect_links(ctx, book, index)
    ledger = ResponseLedger(ctx)
    timings = stage_times(ctx, links, ledger)
    reporting = Reporting(ctx, book, index, timings)
    report_times = reporting.report_times()
    for stage_id, timing in timings.items():
        if timing.scored:
            timing.t_rep = report_times.get(stage_id)
            score_stage(ctx, timing)
    report = reporting.score()
    ran = [
        ctx.stages[s]
        for s, t in timings.items()
        if t.scored and stage_executed(ctx, ledger, s) is not False
    ]
    details: dict[str, Any] = {
        "damage_prevented": damage_prevented(ctx, ledger, timings),
        "timeliness": {"score": timeliness(ctx, timings)},
        "triage": triage_score(ctx),
        "response": response_score(ctx, ledger, ran),
        "report": report,
    }
    components = {k: details[k]["score"] for k in settings.tes_weights}
    tes = team_score(components, settings)
    tes.update(tes_relative(tes["tes"], exercise.par_runs, settings))  # type: ignore[arg-type]

    crisis = crisis_communication(ctx)
    aar = after_action(ctx, timings, components, details)
    aar["areas_for_improvement"] += [  # type: ignore[operator]
        {"component": "crisis", "score": crisis["score"], "finding": finding}
        for finding in crisis_findings(crisis)
    ]
    tickets = reporting.incident_tickets()
    opportunities = collect_opportunities(ctx, timings, ledger, book, tickets)
    states, record = apply_opportunities(skill_states or {}, opportunities, settings)
    ended = exercise.clock.ended_at or 0.0
    qualified = {a: qualified_scopes(c, ended, settings) for a, c in states.items()}
    shifts: dict[str, list[str]] = {}
    for member in exercise.team:
        shifts.setdefault(member.shift or "default", []).append(member.id)
    scopes = {s.scope for s in exercise.stages}
    cohesion = None
    if exercise.team:
        measures = measure(ctx, book, links, tickets, qualified)
        cohesion = cohesion_index(measures, settings)
    return {
        "scoring_spec_version": SPEC_VERSION,
        "exercise": {
            "id": exercise.id,
            "scenario": exercise.scenario,
            "announced": exercise.announced,
            "staffing": exercise.staffing,
            "c_eff": exercise.clock.effective_speed(),
            "t_end": ctx.t_end,
            "team_size": len(exercise.team),
            # The published point curve: (multiple of the SLA target, score).
            "time_curve": curve_points(1.0, settings.half_life_factor),
            "clock": exercise.clock.to_dict(),
        },
        "settings": settings.to_dict(),
        "input_notes": {
            "activity_after_endex": ctx.dropped_after_endex,
            "activity_during_pause": ctx.landed_in_pause,
        },
        "stages": [_stage_record(t) for t in timings.values()],
        "kpis": kpis(ctx, timings),
        "components": components,
        "details": details,
        "tes": tes,
        "flags": {
            "immediate_escalation": immediate_escalations(timings),
            "integrity_review": [
                s for s, t in timings.items() if t.status == "integrity_review"
            ],
            "pre_inject_link": [
                {"stage": s, **link}
                for s, t in timings.items()
                for link in t.pre_inject_links
            ],
            "proactive": [s for s, t in timings.items() if t.scored and t.proactive],
            "assisted": [s for s, t in timings.items() if t.assisted],
        },
        "aar": aar,
        "crisis": crisis,
        "cohesion": cohesion,
        "coverage": coverage(states, shifts, scopes, ended, settings)
        if shifts
        else None,
        "individual": _individual(ctx, timings, states, record),
    }
