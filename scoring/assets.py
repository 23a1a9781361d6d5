"""B4.3 affected-asset precision and recall, summarised as F2.

Recall weighs more (β = 2): a missed compromised host matters more than an extra one.
An entity reported before its own inject does not count as a true positive (the
false-link rule of B2); it still counts as reported.
"""

from __future__ import annotations

from collections.abc import Mapping


def f_beta(precision: float, recall: float, beta: float) -> float:
    """F_β; 0 when both are 0."""
    b2 = beta * beta
    denom = b2 * precision + recall
    return 0.0 if denom == 0 else (1 + b2) * precision * recall / denom


def asset_score(
    reported: Mapping[str, float],
    truth: Mapping[str, str],
    inject_time: Mapping[str, float],
    *,
    skew: float,
    beta: float,
    names: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Score reported assets (normalised name → time first continuously reported)
    against the truth (normalised name → display name); ``names`` gives display names
    of reported entities."""
    names = names or {}
    if not reported:
        return {
            "score": 0.0,
            "precision": 0.0,
            "recall": 0.0,
            "missed": sorted(truth.values()),
            "extra": [],
            "reported_before_inject": [],
        }
    early = sorted(
        ref
        for ref, t in reported.items()
        if ref in truth and t < inject_time.get(ref, t) - skew
    )
    hits = {ref for ref in reported if ref in truth and ref not in early}
    precision = len(hits) / len(reported)
    recall = len(hits) / len(truth) if truth else 0.0
    return {
        "score": f_beta(precision, recall, beta),
        "precision": precision,
        "recall": recall,
        "missed": sorted(truth[r] for r in truth if r not in hits),
        "extra": sorted(names.get(r, r) for r in reported if r not in truth),
        "reported_before_inject": sorted(truth[r] for r in early),
    }
