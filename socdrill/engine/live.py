"""Background noise: live environments (wall time) and exercise noise.

A *live* tenant gets continuous benign traffic from its organisation, so an
unannounced attack hides in normal activity. Starting one backfills a baseline
(``LIVE_BASELINE_HOURS``, bounded) so analysts can compare with normal; the engine
then writes noise up to the present on every tick, in bounded chunks, and keeps
``noise_until`` so a restart continues where it stopped.

An exercise in a tenant that is not live gets its own noise in scenario time,
thinned by the speed factor so a 60x drill does not write 60 times the traffic.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa

from simulator.environment import Organisation
from simulator.events import Event
from simulator.noise import NoiseGenerator
from socdrill.database import write_transaction
from socdrill.engine.runtime import NOISE_PROFILES, PlayError, tenant_organisation
from socdrill.extensions import db
from socdrill.models import LiveEnvironment, Tenant, utcnow

# Simulated seconds of noise written per tick at most (a backfill takes several).
CHUNK_SECONDS = 3600.0
PROFILES = ("office_hours", "24x7", "quiet")


class LiveError(ValueError):
    """The live environment cannot be started as asked; nothing changed."""


def start_live(
    tenant: Tenant,
    *,
    baseline_hours: float,
    max_baseline_hours: float,
    scale: float = 1.0,
    profile: str | None = None,
    now: datetime | None = None,
) -> LiveEnvironment:
    """Make ``tenant`` live, backfilling ``baseline_hours`` of history."""
    if not (0 <= baseline_hours <= max_baseline_hours):
        raise LiveError(
            f"the baseline must be between 0 and {max_baseline_hours:g} hours"
        )
    if not (0 < scale <= 1):
        raise LiveError("the noise scale must be above 0 and at most 1")
    chosen = profile or NOISE_PROFILES[tenant.noise_profile]
    if chosen not in PROFILES:
        raise LiveError(f"unknown noise profile {chosen!r}; use {', '.join(PROFILES)}")
    try:
        tenant_organisation(tenant, tenant.organisation_seed or tenant.id)
    except PlayError as error:
        raise LiveError(str(error)) from None
    now = now or utcnow()
    baseline = int(baseline_hours * 3600)
    with write_transaction():
        env = db.session.get(LiveEnvironment, tenant.id)
        if env is None:
            env = LiveEnvironment(tenant_id=tenant.id)
            db.session.add(env)
        env.enabled = True
        env.started_at = now
        env.baseline_seconds = baseline
        env.noise_until = (now - timedelta(seconds=baseline)).timestamp()
        env.profile = chosen
        env.scale = scale
        env.seed = tenant.organisation_seed or tenant.id
    return env


def stop_live(tenant: Tenant) -> bool:
    """Stop a tenant's live noise; False when it was not live."""
    with write_transaction():
        env = db.session.get(LiveEnvironment, tenant.id)
        if env is None or not env.enabled:
            return False
        env.enabled = False
        return True


def live_tenant_ids() -> set[int]:
    return set(
        db.session.scalars(
            sa.select(LiveEnvironment.tenant_id).where(LiveEnvironment.enabled)
        )
    )


def keep(uid: str, fraction: float) -> bool:
    """A stable pick of ``fraction`` of the events, by uid."""
    if fraction >= 1.0:
        return True
    return zlib.crc32(uid.encode()) / 2**32 < fraction


class NoiseSources:
    """Noise generators of this process, one per tenant or exercise.

    Generators are pure functions of (organisation, seed, profile), so a cached
    one and a fresh one give the same events.
    """

    def __init__(self) -> None:
        self._generators: dict[str, tuple[str, NoiseGenerator]] = {}

    def generator(
        self, key: str, fingerprint: str, org: Organisation, seed: int, profile: str
    ) -> NoiseGenerator:
        cached = self._generators.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        made = NoiseGenerator(org, seed, profile)
        self._generators[key] = (fingerprint, made)
        return made

    def window(
        self,
        generator: NoiseGenerator,
        start: float,
        end: float,
        *,
        prefix: str,
        fraction: float,
        limit: int,
    ) -> tuple[list[Event], float]:
        """Events with ``start <= ts < end`` (thinned to ``fraction``), at most
        ``limit``; returns them and where the next window starts."""
        out: list[Event] = []
        events: Iterator[Event] = generator.window(start, end)
        for event in events:
            if len(out) >= limit:
                return out, event.ts
            if keep(event.uid, fraction):
                # A copy: the generator keeps its last slot's events cached.
                out.append(dataclasses.replace(event, uid=prefix + event.uid))
        return out, end


def live_chunk_end(env: LiveEnvironment, now: float) -> float:
    """Where this tick's live noise stops: now, or one chunk further."""
    return min(now, env.noise_until + CHUNK_SECONDS)
