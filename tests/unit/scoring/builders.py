"""Small exercises for edge-case tests: one clock, minutes in, scorer input out."""

from __future__ import annotations

from scoring import (
    Activity,
    Alert,
    Exercise,
    ExerciseClock,
    InjectEvidence,
    RequiredResponse,
    Stage,
)

T0 = 1_767_254_400.0


def at(minute: float) -> float:
    """Wall (and simulated) instant of a minute of a run without pauses."""
    return T0 + 60.0 * minute


def stage(stage_id: str = "X", **overrides: object) -> Stage:
    """A P1 Windows execution stage on HOST-1 with a C2 domain as its IoC."""
    fields: dict[str, object] = {
        "id": stage_id,
        "techniques": ("T1059.001",),
        "tactic": "execution",
        "tier": "P1",
        "scope": "windows",
        "entities": ("HOST-1", "alice"),
        "iocs": ("evil.example.test",),
        "responses": (RequiredResponse("isolate_host", "HOST-1"),),
        "damage": 20.0,
    }
    fields.update(overrides)
    return Stage(**fields)  # type: ignore[arg-type]


def row(actor: str, kind: str, minute: float, *targets: str, **kw: object) -> Activity:
    """An activity row at a minute (``ticket=`` names the ticket)."""
    ticket = kw.pop("ticket", None)
    return Activity(actor, kind, at(minute), tuple(targets), ticket, dict(kw))  # type: ignore[arg-type]


def exercise(
    activity: list[Activity] = (),  # type: ignore[assignment]
    *,
    stages: tuple[Stage, ...] | None = None,
    injects: dict[str, float] | None = None,
    alerts: list[tuple[str, float, str | None]] | None = None,
    end: float = 240.0,
    **overrides: object,
) -> Exercise:
    """One exercise: stage X injected at minute 10 with an alert at 12 by default."""
    stages = stages or (stage(),)
    injects = {"X": 10.0} if injects is None else injects
    alerts = [("al-1", 12.0, "X")] if alerts is None else alerts
    fields: dict[str, object] = {
        "id": "ex",
        "scenario": "sc",
        "clock": ExerciseClock.from_transitions(T0, ended_at=at(end)),
        "stages": stages,
        "evidence": [InjectEvidence(s, at(m)) for s, m in injects.items()],
        "alerts": [Alert(a, at(m), stage=s, scope="windows") for a, m, s in alerts],
        "activity": list(activity),
    }
    fields.update(overrides)
    return Exercise(**fields)  # type: ignore[arg-type]


def stage_of(document: dict, stage_id: str = "X") -> dict:
    """The stage record of a score document."""
    return next(s for s in document["stages"] if s["stage"] == stage_id)
