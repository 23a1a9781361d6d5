"""What every Windows event-log sensor shares: the System block and the raw shape.

A Windows record is written twice, as consumers expect it: ``fields`` holds the System
values flattened (``EventID``, ``Channel``, ``Computer``, ``Provider_Name``,
``EventRecordID``, ``TimeCreated`` …) next to the EventData names Sigma rules use, and
``raw`` is the EVTX-to-JSON shape ``{"Event": {"System": …, "EventData": …}}`` that
converters of ``.evtx`` files print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from simulator.events import Event
from simulator.fill import iso_us, record_base, record_offset, stable_int
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation, User

SYSTEM_SID = "S-1-5-18"
SYSTEM_USER = "NT AUTHORITY\\SYSTEM"
# System values a caller may set; everything else in ``values`` is EventData.
SYSTEM_OVERRIDES = frozenset({"EventRecordID", "Computer"})
IGNORED_SYSTEM = frozenset({"EventID", "Channel", "Provider_Name", "TimeCreated"})


class SensorInputError(ValueError):
    """A sensor was asked for an event it cannot make; the message says why."""


@dataclass(frozen=True, slots=True)
class EventSpec:
    """The constant System values of one EventID and its Sigma logsource."""

    event_id: int
    version: int
    task: int
    logsource: Logsource
    level: int = 4
    opcode: int = 0
    keywords: str = "0x8000000000000000"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What the Windows sensors need to know about a host, computed once."""

    host: Host
    computer: str  # FQDN, as Windows writes Computer
    owner: User | None
    default_user: str  # DOMAIN\sam of the owner, or NT AUTHORITY\SYSTEM
    default_sid: str
    is_server: bool
    service_pid: int  # the logging service's process id on this boot
    lsass_pid: int


def host_info(org: Organisation, host: Host) -> HostInfo:
    def make() -> HostInfo:
        owner = org.user(host.owner) if host.owner else None
        base = stable_int("pids", host.name.lower(), bits=16)
        return HostInfo(
            host=host,
            computer=host.fqdn,
            owner=owner,
            default_user=owner.domain_user if owner else SYSTEM_USER,
            default_sid=owner.sid if owner else SYSTEM_SID,
            is_server=host.kind != "workstation",
            service_pid=4 * (500 + base % 1500),
            lsass_pid=4 * (150 + (base >> 4) % 100),
        )

    return org.memo(("winhost", host.name), make)


def resolve_host(
    sensor_id: str, host: Host | None, values: dict[str, Any], ctx: SensorContext
) -> Host:
    """The host an event is written on: the argument, else ``values['Computer']``."""
    if host is not None:
        return host
    computer = values.get("Computer")
    if computer:
        name = str(computer).split(".", 1)[0]
        if ctx.org.has_host(name):
            return ctx.org.host(name)
    raise SensorInputError(f"{sensor_id} events are written on a host: give one")


class WindowsSensor(Sensor):
    """Base for sensors writing a Windows event-log channel."""

    provider: ClassVar[str]
    provider_guid: ClassVar[str]
    channel: ClassVar[str]
    raw_format = "evtx-json"

    def __init__(self) -> None:
        self._templates: dict[tuple[Any, ...], _Template] = {}

    def _template(
        self,
        computer: str,
        spec: EventSpec,
        security_sid: str | None,
        data_key: str,
        host_kind: str,
    ) -> _Template:
        """The constant parts of one host's records of one EventID, rendered once."""
        key = (computer, id(spec), security_sid, data_key)
        found = self._templates.get(key)
        if found is None:
            if len(self._templates) > 20_000:
                self._templates.clear()
            found = self._templates[key] = _Template(
                self, computer, spec, security_sid, data_key, host_kind
            )
        return found

    def windows_event(
        self,
        uid: str,
        ts: float,
        host: Host,
        spec: EventSpec,
        data: dict[str, Any],
        ctx: SensorContext,
        security_sid: str | None,
        process_id: int,
        overrides: dict[str, Any] | None = None,
        data_key: str = "EventData",
    ) -> Event:
        """Assemble the flattened fields and the EVTX-JSON raw line."""
        rng = ctx.rng
        computer = host.fqdn
        record = None
        if overrides:
            computer = str(overrides.get("Computer") or computer)
            record = overrides.get("EventRecordID")
        template = self._template(computer, spec, security_sid, data_key, host.kind)
        if record is None:
            # EventRecordID: see ``fill.record_id``; inlined, it is on every event.
            counters = ctx.counters
            record = template.record_base + record_offset(ts)
            previous = counters.get(template.record_key, 0)
            if record <= previous:
                record = previous + 1
            counters[template.record_key] = record
        # TimeCreated has microseconds; the activity's own time has milliseconds.
        created = iso_us(ts, rng.getrandbits(10) % 1000)
        thread_id = 4 * (64 + rng.getrandbits(12))
        fields = template.fields.copy()
        fields["TimeCreated"] = created
        fields["EventRecordID"] = record
        fields["Execution_ProcessID"] = process_id
        fields["Execution_ThreadID"] = thread_id
        fields.update(data)
        raw = (
            f'{template.head}"TimeCreated":{{"#attributes":{{"SystemTime":"{created}"'
            f'}}}},"EventRecordID":{record},"Correlation":null,"Execution":{{'
            f'"#attributes":{{"ProcessID":{process_id},"ThreadID":{thread_id}}}}},'
            f"{template.tail}{orjson.dumps(data).decode()}{template.end}"
        )
        ls = spec.logsource
        return Event(
            uid,
            ts,
            self.id,
            host.name,
            ls.product,
            ls.category,
            ls.service,
            fields,
            raw,
        )


class _Template:
    """Pre-rendered System block of one (computer, EventID, user SID) combination.

    The raw line is the compact JSON ``orjson`` would write for
    ``{"Event": {"System": {...}, "EventData": {...}}}``; only the time, record
    number, process and thread ids and the EventData are rendered per event.
    """

    __slots__ = (
        "end",
        "fields",
        "head",
        "record_base",
        "record_key",
        "spec",
        "tail",
    )

    def __init__(
        self,
        sensor: WindowsSensor,
        computer: str,
        spec: EventSpec,
        security_sid: str | None,
        data_key: str,
        host_kind: str,
    ) -> None:
        self.fields: dict[str, Any] = {
            "EventID": spec.event_id,
            "Provider_Name": sensor.provider,
            "Provider_Guid": sensor.provider_guid,
            "Version": spec.version,
            "Level": spec.level,
            "Task": spec.task,
            "Opcode": spec.opcode,
            "Keywords": spec.keywords,
            "TimeCreated": None,
            "EventRecordID": None,
            "Execution_ProcessID": None,
            "Execution_ThreadID": None,
            "Channel": sensor.channel,
            "Computer": computer,
        }
        if security_sid is not None:
            self.fields["Security_UserID"] = security_sid
        self.spec = spec  # keeps the spec alive while its id() is in the cache key
        self.record_key = computer + "|" + sensor.channel
        self.record_base = record_base(computer, sensor.channel)
        provider = {
            "#attributes": {"Name": sensor.provider, "Guid": sensor.provider_guid}
        }
        head = orjson.dumps(
            {
                "Provider": provider,
                "EventID": spec.event_id,
                "Version": spec.version,
                "Level": spec.level,
                "Task": spec.task,
                "Opcode": spec.opcode,
                "Keywords": spec.keywords,
            }
        ).decode()
        security = (
            {"#attributes": {"UserID": security_sid}}
            if security_sid is not None
            else None
        )
        tail = orjson.dumps(
            {"Channel": sensor.channel, "Computer": computer, "Security": security}
        ).decode()
        self.head = '{"Event":{"System":' + head[:-1] + ","
        if data_key == "EventData":
            self.tail = tail[1:-1] + '},"EventData":'
            self.end = "}}"
        else:  # e.g. 1102 keeps its values under UserData/LogFileCleared
            self.tail = (
                tail[1:-1] + '},"UserData":{' + orjson.dumps(data_key).decode() + ":"
            )
            self.end = "}}}"


def split_values(
    values: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """EventData values and System overrides from a caller's ``values``."""
    if values.keys() & (SYSTEM_OVERRIDES | IGNORED_SYSTEM):
        data = {
            k: v
            for k, v in values.items()
            if k not in SYSTEM_OVERRIDES and k not in IGNORED_SYSTEM
        }
        over = {k: values[k] for k in SYSTEM_OVERRIDES if k in values}
        return data, over or None
    return values, None


def coerce_ints(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """Numbers given as text (templates render text) become ints, as in Windows."""
    out = values
    for name in names & values.keys():
        v = values[name]
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            if out is values:
                out = dict(values)
            out[name] = int(v)
    return out


def context_host(ctx: SensorContext, host: Host) -> HostInfo:
    """``host_info`` through the context's cache (the per-event lookup)."""
    infos = ctx.cache.get("windows.hosts")
    if infos is None:
        infos = ctx.cache["windows.hosts"] = {}
    info = infos.get(host.name)
    if info is None:
        info = infos[host.name] = host_info(ctx.org, host)
    return info
