"""Every tunable number of the scoring contract, with its published default.

A :class:`Settings` value travels with each score document (``settings`` section), so a
score can always be recomputed with exactly the numbers that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MINUTE = 60.0
DAY = 86_400.0

TIERS = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True, slots=True)
class Sla:
    """SLA targets of one tier, in operational minutes (B3)."""

    ack: float
    detect: float  # from inject
    contain: float  # from detection
    report: float  # from detection


def _staffed() -> dict[str, Sla]:
    return {
        "P1": Sla(ack=15, detect=30, contain=60, report=60),
        "P2": Sla(ack=30, detect=60, contain=240, report=240),
        "P3": Sla(ack=120, detect=240, contain=1440, report=1440),
        "P4": Sla(ack=480, detect=1440, contain=4320, report=4320),
    }


def _on_call() -> dict[str, Sla]:
    # B1 rule 4: out of staffed hours the on-call model applies. The default doubles
    # the acknowledgement target (P1: 30 min on-call against 15 staffed) and keeps the
    # rest; a team replaces it with its own contract.
    return {
        tier: Sla(ack=2 * s.ack, detect=s.detect, contain=s.contain, report=s.report)
        for tier, s in _staffed().items()
    }


def _role_shares() -> dict[str, float]:
    return {"L1": 0.30, "L2": 0.25, "L3": 0.25, "lead": 0.15}


@dataclass(frozen=True, slots=True)
class Settings:
    """Defaults of SCORING.md v1; change one only with a published change log."""

    sla_staffed: dict[str, Sla] = field(default_factory=_staffed)
    sla_on_call: dict[str, Sla] = field(default_factory=_on_call)
    half_life_factor: float = 1.0  # H = factor · T
    ingestion_skew: float = 60.0  # ε, seconds
    time_weights: tuple[float, float, float] = (0.4, 0.2, 0.4)  # detect, ack, contain
    tier_weights: dict[str, float] = field(
        default_factory=lambda: {"P1": 4.0, "P2": 3.0, "P3": 2.0, "P4": 1.0}
    )
    assisted_detection_cap: float = 0.5
    w_fn: float = 5.0
    w_fp: float = 1.0
    ticket_weights: dict[str, float] = field(
        default_factory=lambda: {
            "context": 0.15,
            "facts": 0.15,
            "analysis": 0.15,
            "conclusion": 0.10,
            "remediation": 0.15,
            "impact": 0.15,
            "severity": 0.05,
            "timeline": 0.10,
        }
    )
    report_threshold: float = 0.7  # C needed before a sent ticket counts as a report
    assets_beta: float = 2.0
    # v1 fixes the variant without TTR: 0.4·C + 0.3·Assets + 0.3·ATTACK.
    report_weights: dict[str, float] = field(
        default_factory=lambda: {"completeness": 0.4, "assets": 0.3, "attack": 0.3}
    )
    collateral_critical: float = 0.2
    collateral_other: float = 0.05
    tes_weights: dict[str, float] = field(
        default_factory=lambda: {
            "damage_prevented": 0.25,
            "timeliness": 0.20,
            "triage": 0.15,
            "response": 0.15,
            "report": 0.25,
        }
    )
    par_min_runs: int = 5
    # B7 skills
    elo_a: float = 1.0
    elo_c: float = 0.5
    evidence_half_life_days: float = 180.0
    stale_after_days: float = 365.0
    min_evidence: float = 3.0
    qualified_p: float = 0.7
    coverage_target: int = 2
    se_cap: float = 3.0  # logits; SE is "capped" so n = 0 still draws a band
    item_calibration_attempts: int = 20
    difficulty_b: dict[str, float] = field(
        default_factory=lambda: {
            "easy": -1.0,
            "medium": 0.0,
            "hard": 0.75,
            "expert": 1.5,
        }
    )
    # B8 cohesion
    role_shares: dict[str, float] = field(default_factory=_role_shares)
    cohesion_weights: dict[str, float] = field(
        default_factory=lambda: {
            "PB": 0.20,
            "IS": 0.25,
            "HQ": 0.20,
            "CS": 0.20,
            "KS": 0.15,
        }
    )
    duplicate_window: float = 30 * MINUTE
    propagation_target: float = 10 * MINUTE
    reacquire_target: float = 15 * MINUTE
    dropped_after: float = 60 * MINUTE
    turnover_red_flag: float = 0.20
    newcomer_red_flag: float = 0.30
    kb_recent_days: float = 180.0
    kb_breadth_days: float = 90.0
    # HR
    aggregation_min: int = 5

    def sla(self, tier: str, staffing: str) -> Sla:
        """SLA of ``tier`` under the staffing model in force (B1 rule 4)."""
        table = self.sla_on_call if staffing == "on_call" else self.sla_staffed
        return table[tier]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready copy, stored with every result."""
        return asdict(self)


DEFAULT_SETTINGS = Settings()
