"""What an exercise plays against: its scenario, organisation, bindings and origin.

The first tick of a started exercise snapshots the tenant's organisation and the
role bindings into an :class:`~socdrill.models.EngineRuntime` row; every later
tick, in this process or after a restart, plays against that row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from simulator.binding import BindingError, bind_roles
from simulator.environment import Organisation, OrganisationError
from simulator.scenario import Scenario, ScenarioError, load_scenario
from socdrill.database import write_transaction
from socdrill.engine.play import AppliedResponse, Play, rebuild
from socdrill.extensions import db
from socdrill.models import (
    EngineRuntime,
    Exercise,
    NoiseProfile,
    ResponseActionRecord,
    Tenant,
    User,
)

DEFAULT_ORG_SIZE = "small"
# Tenant noise profiles and the simulator's rhythm profiles they stand for.
NOISE_PROFILES = {
    NoiseProfile.QUIET: "quiet",
    NoiseProfile.OFFICE: "office_hours",
    NoiseProfile.BUSY: "24x7",
}


class PlayError(Exception):
    """The exercise cannot be played (its scenario or organisation is unusable)."""


def uid_prefix(exercise_id: int) -> str:
    """Prefix of every event uid an exercise writes (uids are global in the SIEM)."""
    return f"x{exercise_id}-"


def load_exercise_scenario(exercise: Exercise) -> Scenario:
    """The exercise's own snapshot of its scenario, fully validated."""
    try:
        return load_scenario(exercise.scenario_yaml)
    except ScenarioError as error:
        first = error.problems[0] if error.problems else "unknown problem"
        raise PlayError(f"the scenario snapshot is not playable: {first}") from None


def tenant_organisation(tenant: Tenant, seed: int) -> Organisation:
    """The tenant's saved organisation, or one built from its seed and size."""
    try:
        if tenant.organisation:
            return Organisation.from_dict(tenant.organisation)
        return Organisation.build(
            tenant.organisation_seed if tenant.organisation_seed is not None else seed,
            tenant.organisation_size or DEFAULT_ORG_SIZE,
        )
    except (OrganisationError, KeyError, TypeError, ValueError) as error:
        raise PlayError(
            f"tenant {tenant.slug}: unusable organisation: {error}"
        ) from None


def plain_bindings(bindings: dict[str, Any]) -> dict[str, str]:
    """Role → the name control sees (host name, account, address, domain)."""
    plain = {}
    for role, value in bindings.items():
        if hasattr(value, "sam"):
            plain[role] = str(value.sam)
        elif hasattr(value, "fqdn"):
            plain[role] = str(value.name)
        else:
            plain[role] = str(value)
    return plain


def ensure_runtime(exercise: Exercise) -> EngineRuntime:
    """The exercise's runtime row, created (with its snapshots) on first use."""
    runtime = db.session.get(EngineRuntime, exercise.id)
    if runtime is not None:
        return runtime
    if exercise.started_at is None:
        raise PlayError(f"exercise {exercise.id} has not started")
    scenario = load_exercise_scenario(exercise)
    org = tenant_organisation(exercise.tenant, exercise.seed)
    try:
        bindings = bind_roles(scenario, org, exercise.seed)
    except BindingError as error:
        raise PlayError(str(error)) from None
    with write_transaction():
        runtime = db.session.get(EngineRuntime, exercise.id)
        if runtime is None:
            runtime = EngineRuntime(
                exercise_id=exercise.id,
                origin=exercise.started_at.timestamp(),
                organisation=org.to_dict(),
                bindings=plain_bindings(bindings),
                horizon=0.0,
                delivered_until=0.0,
            )
            db.session.add(runtime)
    return runtime


def stored_responses(exercise_id: int, origin: float) -> list[AppliedResponse]:
    """The exercise's response actions in the order they took effect."""
    rows = db.session.execute(
        sa.select(ResponseActionRecord, User.username)
        .outerjoin(User, User.id == ResponseActionRecord.actor_id)
        .where(ResponseActionRecord.exercise_id == exercise_id)
        .order_by(ResponseActionRecord.seq)
    ).all()
    return [
        AppliedResponse(
            action=row.action,
            target=row.target,
            ts=origin + row.scenario_seconds,
            actor=username,
        )
        for row, username in rows
    ]


class PlayCache:
    """The plays of this process, one per exercise; rebuilt from the rows at will.

    The cache is only a shortcut: a play rebuilt from the stored history equals
    the cached one, so dropping an entry (or the whole cache) is always safe.
    """

    def __init__(self) -> None:
        self._plays: dict[int, tuple[str, Play]] = {}

    def drop(self, exercise_id: int) -> None:
        self._plays.pop(exercise_id, None)

    def get(
        self,
        exercise: Exercise,
        runtime: EngineRuntime,
        responses: list[AppliedResponse],
    ) -> tuple[Play, list[AppliedResponse]]:
        """The play for ``exercise`` and the responses it has yet to apply."""
        fingerprint = f"{exercise.scenario_sha256}:{runtime.origin}:{exercise.seed}"
        cached = self._plays.get(exercise.id)
        if cached is not None and cached[0] == fingerprint:
            play = cached[1]
            fresh = responses[play.applied :]
            if len(responses) >= play.applied and all(
                r.ts >= play.horizon - 1e-6 for r in fresh
            ):
                return play, fresh
        play = self._build(exercise, runtime, responses)
        self._plays[exercise.id] = (fingerprint, play)
        return play, responses[play.applied :]

    def _build(
        self,
        exercise: Exercise,
        runtime: EngineRuntime,
        responses: list[AppliedResponse],
    ) -> Play:
        scenario = load_exercise_scenario(exercise)
        try:
            org = Organisation.from_dict(runtime.organisation)
        except (OrganisationError, KeyError, TypeError, ValueError) as error:
            raise PlayError(f"the organisation snapshot is unusable: {error}") from None
        horizon = runtime.origin + runtime.horizon
        try:
            return rebuild(
                scenario,
                org,
                exercise.seed,
                runtime.origin,
                responses,
                horizon,
                uid_prefix=uid_prefix(exercise.id),
            )
        except BindingError as error:
            raise PlayError(str(error)) from None
