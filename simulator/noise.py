"""Benign background noise: every sensor of every host, with a daily rhythm.

The organisation is split into streams, one per sensor and host (or network device):
a Poisson process whose rate follows the profile's rhythm for that kind of source
(``simulator.rhythm``), drawing events from the stream's mix (``simulator.activity``),
plus the day's benign-but-suspicious episodes (``simulator.episodes``).

Time is cut into fixed one-minute slots. A slot's events are a pure function of the
seed, the organisation, the profile and the slot number (one ``random.Random`` per
slot, streams in a fixed order), so ``NoiseGenerator.window(t0, t1)`` yields exactly
the events in ``[t0, t1)`` however the windows are cut, and the same inputs give
byte-identical output. Uids are ``n-<slot>-<stream>-<n>``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from math import log
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from simulator import activity
from simulator.episodes import DAY, Episodes, Item
from simulator.fill import stable_int
from simulator.ndjson import record_line
from simulator.rhythm import Profile, get_profile
from simulator.sensors import SENSORS, SensorContext
from simulator.sensors.auditd import AuditdSensor

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation
    from simulator.events import Event
    from simulator.sensors.base import Sensor

SLOT = 60  # seconds; divides an hour, so a slot never straddles two rate hours
_BY_TS = attrgetter("ts")
_FIRST = itemgetter(0)  # the time of (time, ...) tuples
_RECIPE_LIMIT = 40_000


@dataclass(slots=True)
class Stream:
    """One sensor on one host (or device): its rate, rhythm and mix."""

    index: int
    key: str
    sensor: Sensor
    host: Host | None
    rate: float  # events per hour when the rhythm factor is 1.0
    source: str  # user | server | edge (see ``rhythm.Profile.factor``)
    tz: str
    work_start: int
    work_end: int
    mix: activity.Mix


def build_streams(org: Organisation) -> list[Stream]:
    """The organisation's streams, in a stable order, with their base rates."""
    streams: list[Stream] = []
    users = len(org.users)
    dcs = max(1, len(org.hosts_where(kind="domain_controller")))
    windows = [h for h in org.hosts if h.is_windows]

    def add(
        sensor_id: str,
        host: Host | None,
        rate: float,
        source: str,
        mix: activity.Mix,
        person: Any = None,
    ) -> None:
        if rate <= 0:
            return
        tz = person.timezone if person else org.timezone
        start, end = (person.work_start, person.work_end) if person else (8, 17)
        streams.append(
            Stream(
                len(streams),
                f"{sensor_id}|{host or ''}",
                SENSORS[sensor_id],
                host,
                rate,
                source,
                tz,
                start,
                end,
                mix,
            )
        )

    for host in windows:
        owner = org.user(host.owner) if host.owner else None
        source = "user" if owner else "server"
        kind = host.kind
        add(
            "sysmon",
            host,
            _RATES["sysmon"][kind],
            source,
            activity.sysmon_mix(org, host),
            owner,
        )
        security = _RATES["windows_security"][kind]
        if kind == "domain_controller":
            security = max(security, 250.0 * users / dcs)
        add(
            "windows_security",
            host,
            security,
            source,
            activity.security_mix(org, host),
            owner,
        )
        admin = owner is not None and owner.is_admin
        add(
            "powershell",
            host,
            _RATES["powershell"][kind] * (3 if admin else 1),
            source,
            activity.powershell_mix(org, host),
            owner,
        )
        add("edr", host, 0.02, source, activity.edr_mix(org, host), owner)
    for host in org.hosts_where(kind="linux"):
        add("linux_auth", host, 40.0, "server", activity.linux_auth_mix(org, host))
        add("auditd", host, 240.0, "server", activity.auditd_mix(org, host))
    for host in org.hosts_where(role="web"):
        add("webserver", host, 1500.0, "edge", activity.webserver_mix(org, host))
    fw, proxy = org.appliance("firewall"), org.appliance("proxy")
    dns, mail = org.appliance("dns"), org.appliance("mail")
    add("firewall", fw, 200.0 * len(org.hosts), "edge", activity.firewall_mix(org, fw))
    add("proxy", proxy, 120.0 * users, "edge", activity.proxy_mix(org, proxy))
    add("dns", dns, 200.0 * len(windows), "edge", activity.dns_mix(org, dns))
    add("email_gateway", mail, 10.0 * users, "edge", activity.email_mix(org, mail))
    if org.cloud_accounts:
        add("cloudtrail", None, 300.0, "edge", activity.cloudtrail_mix(org, None))
    add("idp_signin", None, 6.0 * users, "edge", activity.idp_mix(org, None))
    return streams


# Events per hour at a rhythm factor of 1.0 (a busy working hour). A 50-host
# organisation then writes about 4-5 million events on a working day.
_RATES = {
    "sysmon": {"workstation": 7500.0, "server": 4000.0, "domain_controller": 4000.0},
    "windows_security": {
        "workstation": 450.0,
        "server": 2000.0,
        "domain_controller": 3000.0,
    },
    "powershell": {"workstation": 8.0, "server": 20.0, "domain_controller": 10.0},
}


class NoiseGenerator:
    """Background noise for one organisation, seed and profile, window by window."""

    def __init__(
        self, org: Organisation, seed: int, profile: str | Profile = "office_hours"
    ) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an integer, not {seed!r}")
        self.org = org
        self.seed = seed
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.streams = build_streams(org)
        self._by_key = {s.key: s for s in self.streams}
        self.episodes = Episodes(org, seed, set(self._by_key))
        self._plans: dict[int, list[Item]] = {}
        self._last: tuple[int, list[Event]] | None = None
        # Compiled shapes keyed by the identity of pooled value dicts; the pools live
        # as long as the streams, so identities stay unique.
        self._recipes: dict[tuple[int, int], dict[int, Any]] = {}
        self._recipe_count = 0
        self._auditd: AuditdSensor = SENSORS["auditd"]  # type: ignore[assignment]

    def window(self, t0: float, t1: float) -> Iterator[Event]:
        """The events with ``t0 <= ts < t1``, in time order."""
        if not (math.isfinite(t0) and math.isfinite(t1)):
            raise ValueError("window bounds must be finite POSIX seconds")
        if t1 < t0:
            raise ValueError(f"window ends ({t1}) before it starts ({t0})")
        return self._window(t0, t1)

    def _window(self, t0: float, t1: float) -> Iterator[Event]:
        for slot in range(math.floor(t0 / SLOT), math.ceil(t1 / SLOT)):
            events = self.slot_events(slot)
            if t0 <= slot * SLOT and (slot + 1) * SLOT <= t1:
                yield from events
            else:
                for event in events:
                    if t0 <= event.ts < t1:
                        yield event

    def lines(self, t0: float, t1: float) -> Iterator[tuple[float, bytes]]:
        """``(ts, NDJSON record line)`` for the events of :meth:`window`, in order.

        Byte-identical to ``simulator.ndjson.record_line`` of each event, but shapes
        the generator compiled are written without building the event: the fast
        path for writing noise to files.
        """
        if not (math.isfinite(t0) and math.isfinite(t1)):
            raise ValueError("window bounds must be finite POSIX seconds")
        if t1 < t0:
            raise ValueError(f"window ends ({t1}) before it starts ({t0})")
        return self._lines(t0, t1)

    def _lines(self, t0: float, t1: float) -> Iterator[tuple[float, bytes]]:
        for slot in range(math.floor(t0 / SLOT), math.ceil(t1 / SLOT)):
            lines = self._generate(slot, as_lines=True)
            if t0 <= slot * SLOT and (slot + 1) * SLOT <= t1:
                yield from lines
            else:
                for item in lines:
                    if t0 <= item[0] < t1:
                        yield item

    def expected_per_hour(self, utc_hour: int) -> float:
        """How many background events the streams produce in one hour (mean)."""
        return sum(s.rate * self._factor(s, utc_hour) for s in self.streams)

    def _factor(self, stream: Stream, utc_hour: int) -> float:
        return self.profile.factor(
            stream.source, stream.tz, utc_hour, stream.work_start, stream.work_end
        )

    def slot_events(self, slot: int) -> list[Event]:
        """Every event of one slot, sorted by time (the last slot is kept cached)."""
        if self._last is not None and self._last[0] == slot:
            return self._last[1]
        events = self._generate(slot)
        self._last = (slot, events)
        return events

    def _episode_items(self, start: float, end: float) -> dict[str, list[Item]]:
        found: dict[str, list[Item]] = {}
        day = int(start // DAY)
        for d in (day - 1, day, day + 1):
            plan = self._plans.get(d)
            if plan is None:
                if len(self._plans) > 8:
                    self._plans.clear()
                plan = self._plans[d] = self.episodes.plan(d)
            for item in plan:
                if start <= item[0] < end:
                    found.setdefault(item[1], []).append(item)
        return found

    def _generate(self, slot: int, as_lines: bool = False) -> list[Any]:
        start = slot * SLOT
        end = start + SLOT
        utc_hour = start // 3600
        rng = random.Random(stable_int(self.seed, "noise-slot", slot))
        ctx = SensorContext(self.org, rng)
        episodes = self._episode_items(start, end)
        out: list[Event] = []
        uniform = rng.random
        getrandbits = rng.getrandbits
        for stream in self.streams:
            mean_gap = 3600.0 / (stream.rate * self._factor(stream, utc_hour))
            # (time, kind, values, drawn from the stream's pools)
            items: list[tuple[float, str, dict[str, Any], bool]] = []
            t = start
            table = stream.mix.table
            pooled = stream.mix.pooled
            unordered = False
            while True:
                t -= log(1.0 - uniform()) * mean_gap  # exponential inter-arrival
                if t >= end:
                    break
                drawn = table[getrandbits(10)](rng, t)
                if type(drawn) is tuple:
                    items.append((t, drawn[0], drawn[1], pooled))
                else:  # a short burst: (offset, kind, values) triples
                    unordered = True
                    for offset, kind, values in drawn:
                        if t + offset < end:
                            items.append((t + offset, kind, values, False))
            extra = episodes.get(stream.key)
            if extra:
                items += [(ts, kind, values, False) for ts, _, kind, values in extra]
                unordered = True
            if unordered:
                items.sort(key=_FIRST)
            self._emit(stream, slot, items, ctx, out, as_lines)
        out.sort(key=_FIRST if as_lines else _BY_TS)
        return out

    def _emit(
        self,
        stream: Stream,
        slot: int,
        items: list[tuple[float, str, dict[str, Any]]],
        ctx: SensorContext,
        out: list[Any],
        as_lines: bool = False,
    ) -> None:
        """Append the stream's events (or ``(ts, line)`` pairs) for one slot."""
        sensor = stream.sensor
        event = sensor.event
        host = stream.host
        prefix = f"n-{slot}-{stream.index}-"
        compile_ = getattr(sensor, "compile", None) if host is not None else None
        day = slot * SLOT // DAY
        recipes: dict[int, Any] = {}
        daily: dict[int, Any] = {}
        if compile_ is not None:
            # Shapes are compiled once per stream (per day for those holding logon
            # ids) and reused; a recipe's output equals the sensor's full path.
            if self._recipe_count > _RECIPE_LIMIT:
                self._recipes.clear()
                self._recipe_count = 0
            recipes = self._recipes.setdefault((stream.index, -1), {})
            daily = self._recipes.setdefault((stream.index, day), {})
            daily_kinds = sensor.daily_kinds  # type: ignore[attr-defined]
        for n, (t, kind, values, pooled) in enumerate(items):
            ts = int(t * 1000) / 1000  # milliseconds, never rounded past the slot
            uid = f"{prefix}{n}"
            if pooled and compile_ is not None:
                # The shelf keeps each pooled values dict alive beside its recipe, so
                # its id cannot be reused by another dict while the recipe is kept.
                shelf = daily if kind in daily_kinds else recipes
                entry = shelf.get(id(values))
                if entry is None or entry[0] is not values:
                    self._recipe_count += 1
                    recipe = compile_(kind, host, values, self.org, day * DAY)
                    entry = shelf[id(values)] = (values, recipe)
                recipe = entry[1]
                if recipe is not None:
                    if not as_lines:
                        out.append(recipe(uid, ts, ctx))
                        continue
                    line = recipe.line(uid, ts, ctx)
                    if line is not None:
                        out.append((ts, line))
                        continue
                    made = [recipe(uid, ts, ctx)]
                else:
                    made = [
                        event(
                            uid=uid, ts=ts, kind=kind, host=host, values=values, ctx=ctx
                        )
                    ]
            elif kind == "exec" and host is not None:
                made = self._exec(uid, ts, host, values, ctx)
            else:
                made = [
                    event(uid=uid, ts=ts, kind=kind, host=host, values=values, ctx=ctx)
                ]
            if as_lines:
                out += [(e.ts, record_line(e)) for e in made]
            else:
                out += made

    def _exec(
        self,
        uid: str,
        ts: float,
        host: Host,
        values: dict[str, Any],
        ctx: SensorContext,
    ) -> list[Event]:
        return self._auditd.exec_records(
            uid=uid,
            ts=ts,
            host=host,
            args=values["args"],
            ctx=ctx,
            user_id=values.get("uid", 0),
            cwd=values.get("cwd", "/"),
        )


def noise_stream(
    org: Organisation,
    *,
    start: float,
    hours: float,
    seed: int,
    profile: str = "office_hours",
) -> Iterator[Event]:
    """Background events from ``start`` for ``hours``, in time order."""
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a non-negative number, not {hours!r}")
    generator = NoiseGenerator(org, seed, profile)
    return generator.window(start, start + hours * 3600)
