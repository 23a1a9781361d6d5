"""B7 per-analyst skill per scope × tactic: logistic Elo with an uncertainty function.

State per (analyst, cell): skill θ (logit), effective evidence n, last update. Before
each update n decays (half-life 180 days: certainty fades, the mean stays); then

``p = σ(θ − b)``, ``K = a / (1 + c·n)``, ``θ ← θ + ω·K·(y − p)``, ``n ← n + ω``.

Every opportunity except triage also updates the scope-only and tactic-only roll-ups
(``scope:*`` and ``*:tactic``); triage has its own cell per scope. A new cell
starts from its roll-ups (partial pooling) or the population. Profiles are shown
with an uncertainty band and "insufficient evidence"/"stale" states; they are never
ranked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scoring.settings import DAY, Settings

ANY = "*"
TRIAGE = "triage"
Cell = tuple[str, str]  # (scope, tactic); ANY marks a roll-up


@dataclass(frozen=True, slots=True)
class SkillState:
    """Skill of one analyst in one cell."""

    theta: float
    n: float
    updated_at: float | None = None  # wall POSIX seconds


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A chance to show skill: outcome y ∈ [0,1], difficulty b, attribution ω."""

    analyst: str
    scope: str
    tactic: str
    y: float
    b: float
    weight: float
    at: float  # wall POSIX seconds
    kind: str  # triage | detection | response | ticket
    item: str


def sigmoid(x: float) -> float:
    """Logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


def decayed(n: float, elapsed: float, settings: Settings) -> float:
    """Evidence after ``elapsed`` seconds: ``n · 2^(−Δt/h)``."""
    if elapsed <= 0:
        return n
    return n * 2.0 ** (-elapsed / (settings.evidence_half_life_days * DAY))


def update(
    state: SkillState, y: float, b: float, weight: float, at: float, settings: Settings
) -> tuple[SkillState, dict[str, float]]:
    """One Elo step; also returns p, K and the decayed n for the per-point record."""
    elapsed = 0.0 if state.updated_at is None else at - state.updated_at
    n = decayed(state.n, elapsed, settings)
    p = sigmoid(state.theta - b)
    k = settings.elo_a / (1.0 + settings.elo_c * n)
    theta = state.theta + weight * k * (y - p)
    new = SkillState(theta=theta, n=n + weight, updated_at=at)
    return new, {"p": p, "k": k, "n_before": n, "theta_before": state.theta}


def difficulty_of(label: str, calibrated: float | None, settings: Settings) -> float:
    """Item difficulty b: the calibrated value when there is one, else the label's."""
    return calibrated if calibrated is not None else settings.difficulty_b[label]


def calibrate_item(
    b: float, attempts: int, y: float, p: float, settings: Settings
) -> float:
    """Symmetric Elo for items once enough attempts exist: ``b ← b − K·(y − p)``,
    with the same uncertainty function over the item's attempts."""
    if attempts < settings.item_calibration_attempts:
        return b
    k = settings.elo_a / (1.0 + settings.elo_c * attempts)
    return b - k * (y - p)


def prior(
    analyst_states: Mapping[Cell, SkillState],
    cell: Cell,
    population: Iterable[SkillState],
) -> SkillState:
    """Start of a new cell: mean of the analyst's scope and tactic roll-ups (either
    alone if only one exists), else the population mean of the cell, else 0; n = 0."""
    scope, tactic = cell
    pooled = [
        analyst_states[c].theta
        for c in ((scope, ANY), (ANY, tactic))
        if c != cell and c in analyst_states
    ]
    if pooled:
        return SkillState(sum(pooled) / len(pooled), 0.0)
    others = [s.theta for s in population]
    return SkillState(sum(others) / len(others) if others else 0.0, 0.0)


def apply_opportunities(
    states: Mapping[str, Mapping[Cell, SkillState]],
    opportunities: Iterable[Opportunity],
    settings: Settings,
) -> tuple[dict[str, dict[Cell, SkillState]], list[dict[str, object]]]:
    """New states after the opportunities (in time order) and a per-point record."""
    out = {a: dict(cells) for a, cells in states.items()}
    record: list[dict[str, object]] = []
    for opp in sorted(opportunities, key=lambda o: o.at):
        mine = out.setdefault(opp.analyst, {})
        cells: tuple[Cell, ...] = ((opp.scope, opp.tactic),)
        if opp.tactic != TRIAGE:
            # Noise handling stays in its own cell: closing many easy benign alerts
            # must not make anyone "qualified" for a scope.
            cells += ((opp.scope, ANY), (ANY, opp.tactic))
        for cell in cells:
            current = mine.get(cell)
            if current is None:
                population = [
                    c[cell] for a, c in out.items() if a != opp.analyst and cell in c
                ]
                current = prior(mine, cell, population)
            new, detail = update(current, opp.y, opp.b, opp.weight, opp.at, settings)
            mine[cell] = new
            if cell == (opp.scope, opp.tactic):
                record.append(
                    {
                        "analyst": opp.analyst,
                        "cell": cell_name(cell),
                        "kind": opp.kind,
                        "item": opp.item,
                        "y": opp.y,
                        "b": opp.b,
                        "weight": opp.weight,
                        **detail,
                        "theta": new.theta,
                        "n": new.n,
                    }
                )
    return out, record


def cell_name(cell: Cell) -> str:
    """``windows:credential-access``; roll-ups use ``*``."""
    return f"{cell[0]}:{cell[1]}"


def display(state: SkillState, now: float, settings: Settings) -> dict[str, object]:
    """What a profile shows: expected success on a medium item with a 95 % band and
    the evidence state. Evidence is decayed to ``now``."""
    elapsed = 0.0 if state.updated_at is None else now - state.updated_at
    n = decayed(state.n, elapsed, settings)
    p = sigmoid(state.theta)
    info = n * p * (1.0 - p)
    se = settings.se_cap if info <= 0 else min(settings.se_cap, 1.0 / math.sqrt(info))
    stale = state.updated_at is not None and elapsed > settings.stale_after_days * DAY
    if n < settings.min_evidence:
        status = "insufficient evidence"
    elif stale:
        status = "stale"
    else:
        status = "ok"
    return {
        "p_med": p,
        "band": [sigmoid(state.theta - 1.96 * se), sigmoid(state.theta + 1.96 * se)],
        "se": se,
        "theta": state.theta,
        "n": n,
        "status": status,
        "stale": stale,
    }


def qualified_scopes(
    cells: Mapping[Cell, SkillState], now: float, settings: Settings
) -> set[str]:
    """Scopes whose roll-up has ``p_med ≥ 0.7`` and ``n ≥ 3`` (decayed to now)."""
    out = set()
    for (scope, tactic), state in cells.items():
        if tactic != ANY or scope == ANY:
            continue
        shown = display(state, now, settings)
        if (
            shown["p_med"] >= settings.qualified_p
            and shown["n"] >= settings.min_evidence
        ):  # type: ignore[operator]
            out.add(scope)
    return out


def coverage(
    states: Mapping[str, Mapping[Cell, SkillState]],
    shifts: Mapping[str, Iterable[str]],
    scopes: Iterable[str],
    now: float,
    settings: Settings,
) -> dict[str, object]:
    """Qualified analysts per scope and shift (counts only) and the scopes below
    the target of two, which the team lead is alerted about."""
    qualified = {a: qualified_scopes(c, now, settings) for a, c in states.items()}
    counts: dict[str, dict[str, int]] = {}
    alerts = []
    for scope in sorted(set(scopes)):
        counts[scope] = {}
        for shift, members in sorted(shifts.items()):
            n = sum(scope in qualified.get(m, ()) for m in members)
            counts[scope][shift] = n
            if n < settings.coverage_target:
                alerts.append(
                    {
                        "scope": scope,
                        "shift": shift,
                        "qualified": n,
                        "target": settings.coverage_target,
                    }
                )
    return {"counts": counts, "below_target": alerts}
