"""The prepared view of one exercise every scoring module works from.

Everything is converted once to active seconds since the start (B1): alert times,
activity times (an action landing in a pause gets the resume instant), the end, and
each stage's inject time from its labelled evidence (scenario time, inverse map).
Rows after ENDEX are set aside and counted, never scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scoring.errors import ScoringInputError
from scoring.model import Activity, Alert, Exercise, Stage
from scoring.settings import Settings, Sla
from scoring.validate import validate_exercise


def norm(ref: str) -> str:
    """How references are compared: host, account and hash names ignore case."""
    return ref.strip().casefold()


@dataclass(frozen=True, slots=True)
class TimedActivity:
    """An activity row with its active time and its position in the log."""

    row: Activity
    t: float
    index: int


@dataclass(slots=True)
class Context:
    """Exercise, settings and every derived lookup, built by :func:`prepare`."""

    exercise: Exercise
    settings: Settings
    t_end: float
    stages: dict[str, Stage]
    t_inj: dict[str, float]
    alerts: dict[str, Alert]  # raised up to ENDEX, by id
    alert_t: dict[str, float]
    alert_stage: dict[str, str | None]  # by normalised id
    activity: list[TimedActivity]
    dropped_after_endex: int
    landed_in_pause: int
    entity_inject: dict[str, float] = field(default_factory=dict)

    def sla(self, stage: Stage) -> Sla:
        """The SLA of a stage's tier under this run's staffing model."""
        return self.settings.sla(stage.tier, self.exercise.staffing)


def first_evidence(exercise: Exercise, stage_ids: set[str]) -> dict[str, float]:
    """Earliest simulated ``ts`` per stage over the labels (one pass, validated)."""
    first: dict[str, float] = {}
    for i, ev in enumerate(exercise.evidence):
        stage = ev.stage
        if stage is None:
            continue
        ts = ev.ts
        current = first.get(stage)
        try:
            earlier = current is None or ts < current
        except TypeError:
            raise ScoringInputError(
                f"evidence[{i}].ts", f"must be a number, got {ts!r}"
            ) from None
        if earlier:
            if stage not in stage_ids:
                raise ScoringInputError(
                    f"evidence[{i}].stage", f"unknown stage {stage!r}"
                )
            if isinstance(ts, bool) or not math.isfinite(ts):
                raise ScoringInputError(f"evidence[{i}].ts", f"must be finite: {ts!r}")
            first[stage] = ts
    return first


def prepare(exercise: Exercise, settings: Settings) -> Context:
    """Validate the exercise and build its :class:`Context`."""
    validate_exercise(exercise, settings)
    clock = exercise.clock
    ended_at = clock.ended_at
    assert ended_at is not None  # noqa: S101 - validate_exercise guarantees it
    t_end = clock.active_at(ended_at)
    stages = {s.id: s for s in exercise.stages}
    t_inj: dict[str, float] = {}
    for stage_id, ts in first_evidence(exercise, set(stages)).items():
        active = clock.active_of_simulated(ts)
        if active <= t_end:
            t_inj[stage_id] = active
    alerts: dict[str, Alert] = {}
    alert_t: dict[str, float] = {}
    alert_stage: dict[str, str | None] = {}
    for alert in exercise.alerts:
        if alert.raised_at > ended_at:
            continue
        alerts[alert.id] = alert
        alert_t[alert.id] = clock.active_at(alert.raised_at)
        alert_stage[norm(alert.id)] = alert.stage
    timed: list[TimedActivity] = []
    dropped = 0
    paused = 0
    for i, row in enumerate(exercise.activity):
        if row.at > ended_at:
            dropped += 1
            continue
        if clock.is_paused(row.at):
            paused += 1
        timed.append(TimedActivity(row, clock.active_at(row.at), i))
    timed.sort(key=lambda a: (a.t, a.index))
    entity_inject: dict[str, float] = {}
    for stage_id, t in t_inj.items():
        stage = stages[stage_id]
        for ref in (*stage.entities, *stage.iocs):
            key = norm(ref)
            entity_inject[key] = min(t, entity_inject.get(key, math.inf))
    return Context(
        exercise=exercise,
        settings=settings,
        t_end=t_end,
        stages=stages,
        t_inj=t_inj,
        alerts=alerts,
        alert_t=alert_t,
        alert_stage=alert_stage,
        activity=timed,
        dropped_after_endex=dropped,
        landed_in_pause=paused,
        entity_inject=entity_inject,
    )
