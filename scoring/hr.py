"""HR and people-analytics rules as code: what each role may see of a score document.

Every top-level field of the score document has a class: ``team`` (the exercise
profile), ``cohesion`` (team-level only), ``coverage`` (counts of qualified analysts)
and ``individual`` (per-person skill and attribution). Composite numbers exist only at
team level; there is no ranking of individuals anywhere. HR sees team aggregates only
for teams of at least five people, plus coverage counts; individual profiles go to
the person and their lead, and to HR only on a justified request.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from scoring.stats import quantile

FIELD_CLASSES: dict[str, str] = {
    "scoring_spec_version": "meta",
    "exercise": "meta",
    "settings": "meta",
    "input_notes": "meta",
    "stages": "team",
    "kpis": "team",
    "components": "team",
    "details": "team",
    "tes": "team",
    "flags": "team",
    "aar": "team",
    "crisis": "team",
    "cohesion": "cohesion",
    "coverage": "coverage",
    "individual": "individual",
}
ROLE_CLASSES: dict[str, frozenset[str]] = {
    "lead": frozenset({"meta", "team", "cohesion", "coverage", "individual"}),
    "manager": frozenset({"meta", "team", "cohesion", "coverage"}),
    # Analysts see their own profile, never cohesion (team-level people analytics).
    "analyst": frozenset({"meta", "team", "individual:self"}),
    "hr": frozenset({"meta", "team:aggregate", "cohesion:aggregate", "coverage"}),
    "admin": frozenset({"meta", "team"}),
    "observer": frozenset({"meta", "team"}),
}


def aggregate(values: Mapping[str, float], minimum: int = 5) -> dict[str, object]:
    """Team aggregate of per-person values, suppressed below ``minimum`` people."""
    n = len(values)
    if n < minimum:
        return {"n": n, "suppressed": True, "reason": f"fewer than {minimum} people"}
    data = list(values.values())
    return {
        "n": n,
        "suppressed": False,
        "mean": sum(data) / n,
        "median": quantile(data, 0.5),
    }


def view_for(
    document: Mapping[str, Any],
    role: str,
    *,
    viewer: str | None = None,
    justified_request: bool = False,
    team_size: int | None = None,
    minimum: int = 5,
) -> dict[str, Any]:
    """A copy of ``document`` with what ``role`` may not see removed.

    Analysts keep only their own individual entries (``viewer``); HR sees team and
    cohesion sections only for teams of ``minimum`` people or more, and individual
    data only with ``justified_request`` (to be logged by the caller). Unknown roles
    see nothing but the metadata: deny by default.
    """
    allowed = ROLE_CLASSES.get(role, frozenset({"meta"}))
    exercise = document.get("exercise", {})
    size = team_size if team_size is not None else int(exercise.get("team_size", 0))
    big_enough = size >= minimum
    out: dict[str, Any] = {}
    for key, value in document.items():
        cls = FIELD_CLASSES.get(key, "individual")  # unknown fields: most protective
        if cls in allowed or f"{cls}:aggregate" in allowed and big_enough:
            out[key] = copy.deepcopy(value)
        elif cls == "individual" and "individual:self" in allowed and viewer:
            mine = value.get(viewer) if isinstance(value, Mapping) else None
            out[key] = {viewer: copy.deepcopy(mine)} if mine is not None else {}
        elif cls == "individual" and role == "hr" and justified_request:
            out[key] = copy.deepcopy(value)
    return out
