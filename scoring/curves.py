"""B3 point curves: a time against its SLA target, with no cliff and no bonus."""

from __future__ import annotations

import math


def time_score(x: float | None, target: float, half_life: float | None = None) -> float:
    """``S(x; T, H)``: 1 up to the target, then halving every ``H`` (default H = T).

    ``x`` None means "undetected / not done" and scores 0. Beating the target earns
    nothing extra: speed past the SLA invites premature closure.
    """
    if x is None:
        return 0.0
    if target <= 0 or not math.isfinite(target):
        raise ValueError(f"SLA target must be a positive number, got {target!r}")
    h = target if half_life is None else half_life
    if h <= 0:
        raise ValueError(f"half-life must be positive, got {h!r}")
    if x <= target:
        return 1.0
    return 2.0 ** (-(x - target) / h)


def curve_points(target: float, half_life: float | None = None) -> list[list[float]]:
    """The published curve as (multiple of T, score) points, for the debrief chart."""
    return [
        [m, time_score(m * target, target, half_life)]
        for m in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
    ]
