"""B8 cohesion index: team level only, from metadata (never chat text, never a person).

``CI = 100·(0.20·PB + 0.25·IS + 0.20·HQ + 0.20·CS + 0.15·KS)``; a component that
cannot be measured is dropped and the weights renormalised. The five components are
always shown with CI. Measuring (:func:`measure`) is kept apart from the index
(:func:`cohesion_index`) so the index can be checked on published measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

from scoring.curves import time_score
from scoring.settings import Settings

HANDOFF_CHECKLIST = ("open_items", "status", "iocs", "next_step")
COMPONENT_WORDS = {
    "PB": "balance",
    "IS": "information flow",
    "HQ": "hand-offs",
    "CS": "core stability",
    "KS": "knowledge sharing",
}


@dataclass(frozen=True, slots=True)
class Handoff:
    """One hand-off: note completeness in [0, 1] and the receiver's re-acquire
    latency in seconds (None: the receiver never acted on the items)."""

    completeness: float
    reacquire: float | None


@dataclass(frozen=True, slots=True)
class CohesionMeasures:
    """The measured inputs of the index; None where a measure is not available."""

    shares: tuple[float, ...] | None = None  # by present member, presence-normalised
    expected: tuple[float, ...] | None = None  # role template, same order
    collaborative_coverage: float | None = None
    duplicate_rate: float | None = None
    propagation_latency: float | None = None  # seconds (median)
    handoffs: tuple[Handoff, ...] = ()
    core: float | None = None
    turnover_90: float | None = None
    newcomer_share: float | None = None
    pair_familiarity: tuple[float, ...] | None = None
    kb_reuse: float | None = None
    kb_breadth: float | None = None
    truck_factors: Mapping[str, int] = field(default_factory=dict)


def _weighted(parts: Iterable[tuple[float, float | None]]) -> float | None:
    present = [(w, v) for w, v in parts if v is not None]
    total = sum(w for w, _ in present)
    return sum(w * v for w, v in present) / total if total else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def scope_label(scope: str) -> str:
    """``ot`` → ``OT``; longer scope names stay as they are."""
    return scope.upper() if len(scope) <= 3 else scope


def cohesion_index(m: CohesionMeasures, settings: Settings) -> dict[str, object]:
    """Components, CI, red flags and the headline for the team lead."""
    pb = None
    if m.shares is not None and m.expected is not None and len(m.shares) >= 2:
        pb = 1.0 - 0.5 * sum(
            abs(s - e) for s, e in zip(m.shares, m.expected, strict=True)
        )
    propagation = (
        None
        if m.propagation_latency is None
        else time_score(m.propagation_latency, settings.propagation_target)
    )
    is_ = _mean(
        (
            m.collaborative_coverage,
            None if m.duplicate_rate is None else 1.0 - m.duplicate_rate,
            propagation,
        )
    )
    hq = _mean(
        0.5 * h.completeness + 0.5 * time_score(h.reacquire, settings.reacquire_target)
        for h in m.handoffs
    )
    familiarity = (
        sum(m.pair_familiarity) / len(m.pair_familiarity)
        if m.pair_familiarity
        else None
    )
    cs = _weighted(
        (
            (0.4, m.core),
            (
                0.3,
                None if m.turnover_90 is None else max(0.0, 1 - m.turnover_90 / 0.30),
            ),
            (0.3, None if familiarity is None else min(familiarity, 5.0) / 5.0),
        )
    )
    min_tf = min(m.truck_factors.values()) if m.truck_factors else None
    ks = _weighted(
        (
            (0.4, m.kb_reuse),
            (0.3, m.kb_breadth),
            (0.3, None if min_tf is None else min(1.0, min_tf / 2.0)),
        )
    )
    components = {"PB": pb, "IS": is_, "HQ": hq, "CS": cs, "KS": ks}
    w = settings.cohesion_weights
    ci = _weighted((w[k], v) for k, v in components.items())
    flags = []
    if m.turnover_90 is not None and m.turnover_90 >= settings.turnover_red_flag:
        flags.append({"flag": "turnover", "value": m.turnover_90})
    if m.newcomer_share is not None and m.newcomer_share > settings.newcomer_red_flag:
        flags.append({"flag": "newcomers", "value": m.newcomer_share})
    fragile = sorted(s for s, tf in m.truck_factors.items() if tf <= 1)
    for scope in fragile:
        flags.append({"flag": "single_point_of_failure", "scope": scope})
    return {
        "ci": None if ci is None else 100.0 * ci,
        "components": components,
        "familiarity": familiarity,
        "min_truck_factor": min_tf,
        "truck_factors": dict(m.truck_factors),
        "red_flags": flags,
        "headline": _headline(components, m, fragile, settings),
    }


def _headline(
    components: Mapping[str, float | None],
    m: CohesionMeasures,
    fragile: list[str],
    settings: Settings,
) -> str:
    good = [
        COMPONENT_WORDS[k] for k, v in components.items() if v is not None and v >= 0.8
    ]
    concerns = []
    if m.turnover_90 is not None and m.turnover_90 >= settings.turnover_red_flag:
        concerns.append("turnover above threshold")
    if m.newcomer_share is not None and m.newcomer_share > settings.newcomer_red_flag:
        concerns.append("newcomer share above threshold")
    concerns += [f"a single point of failure for {scope_label(s)}" for s in fragile]
    if not concerns:
        concerns = [
            f"weak {COMPONENT_WORDS[k]}"
            for k, v in components.items()
            if v is not None and v < 0.5
        ]
    text_good = "good " + " and ".join(good) if good else ""
    text_bad = " and ".join(concerns)
    if text_good and text_bad:
        return f"{text_good}, but {text_bad}"
    return text_good or text_bad or "no strong signal either way"


def pair_familiarity(
    roster: Iterable[str],
    past_exercises: Iterable[Iterable[str]],
    incidents_together: Iterable[tuple[str, str, int]] = (),
) -> tuple[float, ...]:
    """Per member pair: prior exercises together plus incidents worked together."""
    members = sorted(set(roster))
    past = [set(p) for p in past_exercises]
    extra: dict[frozenset[str], int] = {}
    for a, b, count in incidents_together:
        key = frozenset((a, b))
        extra[key] = extra.get(key, 0) + count
    return tuple(
        float(
            sum(1 for p in past if a in p and b in p) + extra.get(frozenset((a, b)), 0)
        )
        for a, b in combinations(members, 2)
    )
