"""Daily and weekly rhythm of background activity: the noise profiles.

A profile turns a moment into an activity factor (1.0 = a busy working hour) for
three kinds of source: a person's own machine and accounts (``user``: their working
hours in their time zone), shared servers (``server``: a flattened office curve) and
the network edge (``edge``: everyone's traffic, so the office curve of the org).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

_FALLBACK_OFFSETS = {  # hours east of UTC (standard time) if the tz database is absent
    "Europe/Berlin": 1,
    "Europe/London": 0,
    "Europe/Paris": 1,
    "America/New_York": -5,
    "America/Chicago": -6,
    "Europe/Amsterdam": 1,
}


@lru_cache(maxsize=65536)
def local_hour(tz: str, utc_hour: int) -> tuple[int, int]:
    """(hour of day, weekday 0=Monday) in ``tz`` for the UTC hour ``utc_hour``."""
    moment = dt.datetime.fromtimestamp(utc_hour * 3600, dt.UTC)
    try:
        local = moment.astimezone(zoneinfo.ZoneInfo(tz))
    except zoneinfo.ZoneInfoNotFoundError:
        local = moment + dt.timedelta(hours=_FALLBACK_OFFSETS.get(tz, 0))
    return local.hour, local.weekday()


@lru_cache(maxsize=65536)
def utc_offset(tz: str, utc_hour: int) -> int:
    """Seconds ``tz`` is ahead of UTC at the UTC hour ``utc_hour``."""
    moment = dt.datetime.fromtimestamp(utc_hour * 3600, dt.UTC)
    try:
        offset = moment.astimezone(zoneinfo.ZoneInfo(tz)).utcoffset()
    except zoneinfo.ZoneInfoNotFoundError:
        return _FALLBACK_OFFSETS.get(tz, 0) * 3600
    return int(offset.total_seconds()) if offset is not None else 0


def local_time(tz: str, day: int, hour: float) -> float:
    """POSIX time of local ``hour`` in ``tz`` on the day that starts at UTC ``day``."""
    return day * 86_400 + hour * 3600 - utc_offset(tz, day * 24 + 12)


def office_curve(hour: int, weekday: int, start: int = 8, end: int = 17) -> float:
    """How busy a person working ``start``..``end`` is at ``hour`` on ``weekday``."""
    if weekday >= 5:
        return 0.03
    if start <= hour < end:
        return 0.6 if hour == (start + end) // 2 else 1.0  # lunch dip
    if hour == start - 1 or hour == end:
        return 0.35
    if start - 3 <= hour < start - 1 or end < hour <= end + 2:
        return 0.08
    return 0.03


@dataclass(frozen=True, slots=True)
class Profile:
    """A named rhythm; ``scale`` multiplies every rate."""

    name: str
    scale: float
    flat_user: float | None = None  # shift work: users busy around the clock
    flat_server: float | None = None

    def factor(
        self, source: str, tz: str, utc_hour: int, start: int = 8, end: int = 17
    ) -> float:
        """Activity factor of a ``user``, ``server`` or ``edge`` source."""
        if source == "user":
            if self.flat_user is not None:
                return self.flat_user * self.scale
            hour, weekday = local_hour(tz, utc_hour)
            # Machines left on overnight still run services, updates and agents.
            return max(0.12, office_curve(hour, weekday, start, end)) * self.scale
        if self.flat_server is not None:
            return self.flat_server * self.scale
        hour, weekday = local_hour(tz, utc_hour)
        busy = office_curve(hour, weekday)
        if source == "server":
            return (0.35 + 0.65 * busy) * self.scale
        return (0.1 + 0.9 * busy) * self.scale


PROFILES: dict[str, Profile] = {
    "office_hours": Profile("office_hours", 1.0),
    "24x7": Profile("24x7", 1.0, flat_user=0.7, flat_server=0.9),
    "quiet": Profile("quiet", 0.3),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ValueError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(
            f"unknown noise profile {name!r}; choose one of {known}"
        ) from None
