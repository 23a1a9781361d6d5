"""The engine's settings, read from ``app.config`` with typed defaults.

Environment variables arrive as text (``SOCDRILL_ENGINE_TICK_SECONDS=0.25``), so
each value is parsed here; a wrong one is a :class:`~socdrill.config.ConfigError`
naming the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from socdrill.config import ConfigError, parse_bool

MAX_BASELINE_HOURS = 7 * 24


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine runs; see docs/engine.md for each setting."""

    mode: str  # "embedded": `socdrill serve` ticks too; "external": `socdrill engine`
    tick_seconds: float
    noise_scale: float  # background noise during exercises (0 turns it off)
    misfire_grace_seconds: float  # wall seconds before "skip" marks an inject missed
    baseline_hours: float  # history a live environment backfills when it starts
    max_events_per_tick: int
    realtime: bool
    replay_limit: int
    forward_allowed_hosts: tuple[str, ...]


def _number(kind: Callable[[str], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        return kind(value) if not isinstance(value, bool) else kind(int(value))

    return parse


def _boolean(value: Any) -> bool:
    return value if isinstance(value, bool) else parse_bool(str(value))


def _hosts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(h.strip() for h in value.split(",") if h.strip())
    return tuple(str(h).strip() for h in value or () if str(h).strip())


_FIELDS: dict[str, tuple[str, Any, Callable[[Any], Any]]] = {
    "mode": ("ENGINE_MODE", "embedded", str),
    "tick_seconds": ("ENGINE_TICK_SECONDS", 0.5, _number(float)),
    "noise_scale": ("ENGINE_NOISE_SCALE", 1.0, _number(float)),
    "misfire_grace_seconds": ("ENGINE_MISFIRE_GRACE_SECONDS", 30.0, _number(float)),
    "baseline_hours": ("LIVE_BASELINE_HOURS", 24.0, _number(float)),
    "max_events_per_tick": ("ENGINE_MAX_EVENTS_PER_TICK", 50_000, _number(int)),
    "realtime": ("REALTIME_ENABLED", True, _boolean),
    "replay_limit": ("REALTIME_REPLAY_LIMIT", 500, _number(int)),
    "forward_allowed_hosts": ("FORWARD_ALLOWED_HOSTS", (), _hosts),
}


def engine_settings(config: Mapping[str, Any]) -> EngineSettings:
    """The engine settings of one app configuration, checked."""
    values: dict[str, Any] = {}
    for field, (key, default, parse) in _FIELDS.items():
        raw = config.get(key, default)
        try:
            values[field] = parse(raw)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{key}: {raw!r} is not valid ({error})") from None
    if values["mode"] not in ("embedded", "external"):
        raise ConfigError("ENGINE_MODE must be 'embedded' or 'external'")
    if not 0.05 <= values["tick_seconds"] <= 60:
        raise ConfigError("ENGINE_TICK_SECONDS must be between 0.05 and 60")
    if not 0 <= values["noise_scale"] <= 10:
        raise ConfigError("ENGINE_NOISE_SCALE must be between 0 and 10")
    if not 0 <= values["baseline_hours"] <= MAX_BASELINE_HOURS:
        raise ConfigError(
            f"LIVE_BASELINE_HOURS must be between 0 and {MAX_BASELINE_HOURS}"
        )
    if values["misfire_grace_seconds"] < 0 or values["max_events_per_tick"] < 1:
        raise ConfigError("engine limits must be positive")
    return EngineSettings(**values)
