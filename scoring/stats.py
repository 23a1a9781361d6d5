"""Small statistics the KPIs need: median, p90 and a Kaplan–Meier median."""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated quantile (the "inclusive" method); None when empty."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def kaplan_meier_median(
    times: Sequence[float], observed: Sequence[bool]
) -> float | None:
    """Median time-to-event with right-censoring; None when the survival curve
    never falls to 0.5 (fewer than half the events observed by the last time).

    Censored values are never imputed: a censored time only shrinks the risk set.
    At equal times events are counted before censorings (the usual convention).
    """
    if len(times) != len(observed):
        raise ValueError("times and observed must have the same length")
    order = sorted(zip(times, observed, strict=True), key=lambda p: (p[0], not p[1]))
    at_risk = len(order)
    survival = 1.0
    i = 0
    while i < len(order):
        t = order[i][0]
        events = 0
        leaving = 0
        while i < len(order) and order[i][0] == t:
            events += order[i][1]
            leaving += 1
            i += 1
        if events:
            survival *= 1.0 - events / at_risk
            if survival <= 0.5 + 1e-12:
                return t
        at_risk -= leaving
    return None
