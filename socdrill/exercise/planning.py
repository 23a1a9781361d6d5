"""Creating a draft exercise: scenario snapshot, seed, window and safety settings."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from socdrill import audit
from socdrill.exercise.lifecycle import MAX_SPEED
from socdrill.exercise.scheduling import SchedulingError, parse_blackout_dates
from socdrill.extensions import db
from socdrill.models import CatchUpPolicy, Exercise, Team, Tenant, User

SCENARIO_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_DURATION_SECONDS = 7 * 24 * 3600


class PlanningError(ValueError):
    """The exercise cannot be created as asked; nothing was saved."""


@dataclass(frozen=True)
class ScenarioSnapshot:
    """The scenario text an exercise keeps, with its id and digest."""

    scenario_id: str
    text: str
    sha256: str


def snapshot_scenario(text: str, *, source: str, max_bytes: int) -> ScenarioSnapshot:
    """Keep a scenario's text after a first safety check (size, YAML, id).

    Full validation belongs to the scenario loader; this only makes sure the text is
    a bounded YAML mapping with a usable id.
    """
    size = len(text.encode())
    if size > max_bytes:
        raise PlanningError(f"{source}: {size} bytes is over the limit of {max_bytes}")
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise PlanningError(f"{source}: not valid YAML ({error})") from None
    if not isinstance(document, dict):
        raise PlanningError(f"{source}: a scenario is a mapping with an 'id'")
    scenario_id = document.get("id")
    if not isinstance(scenario_id, str) or not SCENARIO_ID.match(scenario_id):
        raise PlanningError(
            f"{source}: 'id' must be lowercase letters, digits and dashes"
        )
    return ScenarioSnapshot(
        scenario_id, text, hashlib.sha256(text.encode()).hexdigest()
    )


def scenario_files(directory: Path) -> list[Path]:
    """The scenario library: every .yml/.yaml file of ``directory``."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml"))


def read_scenario_file(path: Path, max_bytes: int) -> ScenarioSnapshot:
    if path.stat().st_size > max_bytes:
        raise PlanningError(f"{path.name}: over the limit of {max_bytes} bytes")
    return snapshot_scenario(
        path.read_text(encoding="utf-8"), source=path.name, max_bytes=max_bytes
    )


def new_seed() -> int:
    """A random 63-bit seed (fits a signed BIGINT everywhere)."""
    return secrets.randbits(63)


def create_draft(
    *,
    actor: User | None,
    name: str,
    tenant: Tenant,
    team: Team,
    scenario: ScenarioSnapshot,
    seed: int | None = None,
    announced: bool = True,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    blackout_dates: list[str] | None = None,
    max_duration_seconds: int = 8 * 3600,
    speed_factor: float = 1.0,
    catch_up_policy: CatchUpPolicy = CatchUpPolicy.CATCH_UP,
) -> Exercise:
    """Add a draft exercise to the session (the caller commits) after checking it."""
    name = name.strip()
    if not name:
        raise PlanningError("the exercise needs a name")
    if tenant not in team.tenants:
        raise PlanningError(
            f"team {team.name!r} does not monitor tenant {tenant.name!r}; "
            "assign the tenant to the team first"
        )
    if not (0 < max_duration_seconds <= MAX_DURATION_SECONDS):
        raise PlanningError("the maximum duration must be between 1 second and 7 days")
    if not (0 < speed_factor <= MAX_SPEED):
        raise PlanningError(f"speed must be above 0 and at most {MAX_SPEED:g}")
    if (window_start is None) != (window_end is None):
        raise PlanningError("give both ends of the window, or neither")
    if (
        window_start is not None
        and window_end is not None
        and window_end <= window_start
    ):
        raise PlanningError("the window must end after it starts")
    if not announced and window_start is None:
        raise PlanningError("an unannounced exercise needs a window")
    try:
        blackouts = parse_blackout_dates(blackout_dates or [])
    except SchedulingError as error:
        raise PlanningError(str(error)) from None
    if seed is not None and not (0 <= seed < 2**63):
        raise PlanningError("the seed must be between 0 and 2^63 - 1")
    exercise = Exercise(
        name=name[:120],
        tenant_id=tenant.id,
        team_id=team.id,
        scenario_id=scenario.scenario_id,
        scenario_yaml=scenario.text,
        scenario_sha256=scenario.sha256,
        seed=new_seed() if seed is None else seed,
        announced=announced,
        window_start=window_start,
        window_end=window_end,
        blackout_dates=[day.isoformat() for day in blackouts],
        max_duration_seconds=max_duration_seconds,
        speed_factor=speed_factor,
        catch_up_policy=catch_up_policy,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(exercise)
    db.session.flush()
    audit.record(
        "exercise.create",
        actor=actor,
        tenant_id=tenant.id,
        target=exercise,
        detail={"scenario_id": scenario.scenario_id, "announced": announced},
    )
    return exercise
