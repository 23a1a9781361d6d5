"""Sysmon for Linux (``Linux-Sysmon/Operational``): process, network and file events.

Sysmon for Linux writes the Windows Sysmon schema through syslog (facility ``user``,
tag ``sysmon``), one XML ``<Event>`` per line. The EventData names are those of
Windows Sysmon (``Image``, ``CommandLine``, ``ParentImage``, ``CurrentDirectory``,
``User`` …), which is what SigmaHQ's ``product: linux, category: process_creation``
(and ``file_event``, ``network_connection``) rules read. What differs from Windows
is filled as Linux Sysmon fills it: lower-case GUIDs in braces whose first group is
the machine, a LogonGuid carrying the user's uid, ``IntegrityLevel`` ``no level``,
``-`` for the version-resource fields, user names without a domain, the short host
name as ``Computer``, nanosecond ``TimeCreated`` and ``Security UserId="0"``.

The sensor exposes these as the ``linux_*`` kinds of the ``sysmon`` sensor; a
Linux kind on a Windows host is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from simulator.events import Event
from simulator.fill import (
    SECONDS,
    ephemeral_port,
    record_id,
    split_ms,
    stable_int,
    sysmon_time,
)
from simulator.sensors import syslog
from simulator.sensors.base import Logsource, SensorContext
from simulator.sensors.linux_auth import uses_rfc5424
from simulator.sensors.windows import SensorInputError

if TYPE_CHECKING:
    from simulator.environment import Host

PROVIDER = "Linux-Sysmon"
PROVIDER_GUID = "{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"
CHANNEL = "Linux-Sysmon/Operational"
KEYWORDS = "0x8000000000000000"
#: syslog priority: facility user (1) * 8 + severity info (6)
USER_INFO = 14
#: TerminalSessionId of a process outside any login session (daemons, cron)
NO_SESSION = 4294967295


@dataclass(frozen=True, slots=True)
class LinuxSpec:
    """EventID, schema version and task of one Sysmon for Linux event kind."""

    event_id: int
    version: int
    logsource: Logsource


LINUX_SPECS: dict[str, LinuxSpec] = {
    "linux_process_creation": LinuxSpec(1, 5, Logsource("linux", "process_creation")),
    "linux_network_connection": LinuxSpec(
        3, 5, Logsource("linux", "network_connection")
    ),
    "linux_process_termination": LinuxSpec(
        5, 3, Logsource("linux", "process_termination")
    ),
    "linux_file_event": LinuxSpec(11, 2, Logsource("linux", "file_event")),
}

LINUX_FIELDS: dict[str, tuple[str, ...]] = {
    "linux_process_creation": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "FileVersion",
        "Description",
        "Product",
        "Company",
        "OriginalFileName",
        "CommandLine",
        "CurrentDirectory",
        "User",
        "LogonGuid",
        "LogonId",
        "TerminalSessionId",
        "IntegrityLevel",
        "Hashes",
        "ParentProcessGuid",
        "ParentProcessId",
        "ParentImage",
        "ParentCommandLine",
        "ParentUser",
    ),
    "linux_network_connection": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "User",
        "Protocol",
        "Initiated",
        "SourceIsIpv6",
        "SourceIp",
        "SourceHostname",
        "SourcePort",
        "SourcePortName",
        "DestinationIsIpv6",
        "DestinationIp",
        "DestinationHostname",
        "DestinationPort",
        "DestinationPortName",
    ),
    "linux_process_termination": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "User",
    ),
    "linux_file_event": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "TargetFilename",
        "CreationUtcTime",
        "User",
    ),
}

_INT_FIELDS = frozenset(
    {
        "ProcessId",
        "ParentProcessId",
        "TerminalSessionId",
        "LogonId",
        "SourcePort",
        "DestinationPort",
    }
)
# Where a bare command name resolves on a merged-/usr distribution. ``sh`` is dash
# on Debian and Ubuntu and bash on the RHEL family; Sysmon logs the resolved file.
_SBIN = frozenset(
    {
        "sshd",
        "apache2",
        "httpd",
        "nginx",
        "cron",
        "crond",
        "iptables",
        "useradd",
        "usermod",
        "ip",
        "ifconfig",
        "route",
    }
)
_PARENT_COMMAND_LINES = {
    "/usr/sbin/apache2": "/usr/sbin/apache2 -k start",
    "/usr/sbin/httpd": "/usr/sbin/httpd -DFOREGROUND",
    "/usr/sbin/sshd": "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    "/usr/sbin/cron": "/usr/sbin/cron -f -P",
    "/usr/sbin/crond": "/usr/sbin/crond -n",
    "/usr/lib/systemd/systemd": "/sbin/init",
    "/usr/bin/bash": "-bash",
}
# Parents whose children run outside any login session.
_DAEMONS = frozenset(
    {
        "/usr/sbin/apache2",
        "/usr/sbin/httpd",
        "/usr/sbin/nginx",
        "/usr/sbin/cron",
        "/usr/sbin/crond",
        "/usr/lib/systemd/systemd",
    }
)
_SYSTEM_USERS = {"root": 0, "www-data": 33, "apache": 48, "nobody": 65534}


def is_linux_kind(kind: str) -> bool:
    """Is ``kind`` one of the Sysmon for Linux kinds?"""
    return kind in LINUX_SPECS


def resolve_image(command: str, host: Host) -> str:
    """The file a command name or path runs, as Sysmon for Linux logs it."""
    if "/" in command:
        # /bin and /sbin are links into /usr on current distributions
        if command.startswith(("/bin/", "/sbin/")):
            command = "/usr" + command
        name = command.rpartition("/")[2]
        if name == "sh" and command.startswith("/usr/bin/"):
            return _shell(host)
        return command
    if command == "sh":
        return _shell(host)
    return f"/usr/sbin/{command}" if command in _SBIN else f"/usr/bin/{command}"


def _shell(host: Host) -> str:
    return "/usr/bin/bash" if uses_rfc5424(host) else "/usr/bin/dash"


def linux_uid(ctx: SensorContext, host: Host, user: str) -> int:
    """The uid of ``user`` on ``host``: system accounts, people, then a local uid."""
    if user == "apache" or (user == "www-data" and not uses_rfc5424(host)):
        return _SYSTEM_USERS[user]
    if user in _SYSTEM_USERS:
        return _SYSTEM_USERS[user]
    for person in ctx.org.users:
        if person.sam == user and person.linux_uid is not None:
            return person.linux_uid
    return 1000 + stable_int("uid", host.name, user, bits=16) % 2000


def _process_guid(host: Host, started: float, ctx: SensorContext) -> str:
    t = int(started)
    rng = ctx.rng
    return (
        f"{{{_machine(host)}-{t & 0xFFFF:04x}-{(t >> 16) & 0xFFFF:04x}-"
        f"{rng.getrandbits(16):04x}-{rng.getrandbits(24):06x}550000}}"
    )


def _machine(host: Host) -> str:
    return f"{stable_int('linux-machine', host.name.lower(), bits=32):08x}"


def _logon_guid(host: Host, uid: int) -> str:
    raw = uid.to_bytes(4, "little").hex()
    return f"{{{_machine(host)}-0000-0000-{raw[:4]}-{raw[4:]}00000000}}"


def _pid(ctx: SensorContext) -> int:
    return 1000 + ctx.rng.getrandbits(18)


class SysmonForLinux:
    """Builds Sysmon for Linux events for the ``sysmon`` sensor's ``linux_*`` kinds."""

    sensor_id = "sysmon"

    def event(
        self,
        *,
        uid: str,
        ts: float,
        kind: str,
        host: Host | None,
        values: dict[str, Any],
        ctx: SensorContext,
    ) -> Event:
        """Complete ``values`` as Sysmon for Linux would and return the event."""
        spec = LINUX_SPECS[kind]
        if host is None:
            raise SensorInputError(f"sysmon {kind} events are written on a host")
        if host.kind != "linux":
            raise SensorInputError(
                f"sysmon {kind} is Sysmon for Linux, but {host.name} runs {host.os}; "
                f"use the Windows kind {kind.removeprefix('linux_')!r} there"
            )
        values = _coerce(values)
        fill = {
            "linux_process_creation": self._process_creation,
            "linux_network_connection": self._network_connection,
            "linux_process_termination": self._process_termination,
            "linux_file_event": self._file_event,
        }[kind]
        data = fill(values, host, ts, ctx)
        data.update(values)
        return self._assemble(uid, ts, host, spec, data, ctx)

    # --- processes ---------------------------------------------------------

    def _process(
        self,
        ctx: SensorContext,
        host: Host,
        image: str,
        ts: float,
        new: bool = False,
    ) -> tuple[str, int]:
        """(ProcessGuid, ProcessId) of ``image`` on ``host`` within this context."""
        table = ctx.cache.setdefault("sysmon_linux.proc", {})
        key = host.name + "|" + image
        known = None if new else table.get(key)
        if known is None:
            # A process nobody saw start has been running since early morning.
            started = ts if new else ts - 3600 - ctx.rng.getrandbits(12)
            known = table[key] = (_process_guid(host, started, ctx), _pid(ctx))
        return known

    def _session(
        self, ctx: SensorContext, host: Host, user: str, parent: str, ts: float
    ) -> int:
        if parent in _DAEMONS:
            return NO_SESSION
        day = int(ts // 86_400)
        return 1 + stable_int("session", host.name, user, day, bits=16) % 400

    def _process_creation(
        self, v: dict[str, Any], host: Host, ts: float, ctx: SensorContext
    ) -> dict[str, Any]:
        g = v.get
        command_line = str(g("CommandLine") or "")
        image = str(g("Image") or "")
        if not image:
            first = command_line.split(" ", 1)[0] if command_line else "bash"
            image = resolve_image(first, host)
        if not command_line:
            command_line = image
        user = str(g("User") or "root")
        parent = str(g("ParentImage") or "/usr/bin/bash")
        parent_user = str(g("ParentUser") or user)
        guid, pid = self._process(ctx, host, image, ts, new=True)
        parent_guid, parent_pid = self._process(ctx, host, parent, ts)
        uid = linux_uid(ctx, host, user)
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "FileVersion": "-",
            "Description": "-",
            "Product": "-",
            "Company": "-",
            "OriginalFileName": "-",
            "CommandLine": command_line,
            "CurrentDirectory": _home(user),
            "User": user,
            "LogonGuid": _logon_guid(host, uid),
            "LogonId": uid,
            "TerminalSessionId": self._session(ctx, host, user, parent, ts),
            "IntegrityLevel": "no level",
            "Hashes": "-",
            "ParentProcessGuid": parent_guid,
            "ParentProcessId": parent_pid,
            "ParentImage": parent,
            "ParentCommandLine": _PARENT_COMMAND_LINES.get(parent, parent),
            "ParentUser": parent_user,
        }

    def _process_termination(
        self, v: dict[str, Any], host: Host, ts: float, ctx: SensorContext
    ) -> dict[str, Any]:
        image = str(v.get("Image") or "/usr/bin/bash")
        guid, pid = self._process(ctx, host, image, ts)
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "User": str(v.get("User") or "root"),
        }

    def _network_connection(
        self, v: dict[str, Any], host: Host, ts: float, ctx: SensorContext
    ) -> dict[str, Any]:
        g = v.get
        image = str(g("Image") or "/usr/bin/curl")
        guid, pid = self._process(ctx, host, image, ts)
        destination = str(
            g("DestinationIp") or ctx.rng.choice(ctx.org.external_sites).ip
        )
        source = str(g("SourceIp") or host.ip)
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "User": str(g("User") or "root"),
            "Protocol": "tcp",
            "Initiated": "true",
            "SourceIsIpv6": "true" if ":" in source else "false",
            "SourceIp": source,
            "SourceHostname": "-",
            "SourcePort": g("SourcePort") or ephemeral_port(ctx.rng),
            "SourcePortName": "-",
            "DestinationIsIpv6": "true" if ":" in destination else "false",
            "DestinationIp": destination,
            "DestinationHostname": "-",
            "DestinationPort": g("DestinationPort") or 443,
            "DestinationPortName": "-",
        }

    def _file_event(
        self, v: dict[str, Any], host: Host, ts: float, ctx: SensorContext
    ) -> dict[str, Any]:
        g = v.get
        image = str(g("Image") or "/usr/bin/bash")
        user = str(g("User") or "root")
        guid, pid = self._process(ctx, host, image, ts)
        now = sysmon_time(ts)
        return {
            "RuleName": "-",
            "UtcTime": now,
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "TargetFilename": str(
                g("TargetFilename")
                or f"{_home(user)}/.cache/tmp{ctx.rng.getrandbits(40):010x}"
            ),
            "CreationUtcTime": now,
            "User": user,
        }

    # --- the record ----------------------------------------------------------

    def _assemble(
        self,
        uid: str,
        ts: float,
        host: Host,
        spec: LinuxSpec,
        data: dict[str, Any],
        ctx: SensorContext,
    ) -> Event:
        whole, millis = split_ms(ts)
        created = (
            f"{SECONDS[whole][0]}.{millis:03d}{ctx.rng.getrandbits(10) % 1000:03d}000Z"
        )
        record = record_id(ctx.counters, host.name, CHANNEL, ts)
        daemon_pid = 500 + stable_int("sysmon-pid", host.name, bits=16) % 3000
        fields: dict[str, Any] = {
            "EventID": spec.event_id,
            "Provider_Name": PROVIDER,
            "Provider_Guid": PROVIDER_GUID,
            "Version": spec.version,
            "Level": 4,
            "Task": spec.event_id,
            "Opcode": 0,
            "Keywords": KEYWORDS,
            "TimeCreated": created,
            "EventRecordID": record,
            "Execution_ProcessID": daemon_pid,
            "Execution_ThreadID": daemon_pid,
            "Channel": CHANNEL,
            "Computer": host.name,
            "Security_UserId": 0,
            **data,
        }
        body = "".join(
            f"<Data Name={quoteattr(name)}>{escape(str(value))}</Data>"
            for name, value in data.items()
        )
        xml = (
            f'<Event><System><Provider Name="{PROVIDER}" Guid="{PROVIDER_GUID}"/>'
            f"<EventID>{spec.event_id}</EventID><Version>{spec.version}</Version>"
            f"<Level>4</Level><Task>{spec.event_id}</Task><Opcode>0</Opcode>"
            f"<Keywords>{KEYWORDS}</Keywords>"
            f'<TimeCreated SystemTime="{created}"/>'
            f"<EventRecordID>{record}</EventRecordID><Correlation/>"
            f'<Execution ProcessID="{daemon_pid}" ThreadID="{daemon_pid}"/>'
            f"<Channel>{CHANNEL}</Channel><Computer>{escape(host.name)}</Computer>"
            f'<Security UserId="0"/></System><EventData>{body}</EventData></Event>'
        )
        if uses_rfc5424(host):
            raw = syslog.rfc5424(USER_INFO, ts, host.name, "sysmon", daemon_pid, xml)
        else:
            raw = syslog.rfc3164(USER_INFO, ts, host.name, "sysmon", None, xml)
        ls = spec.logsource
        return Event(
            uid,
            ts,
            self.sensor_id,
            host.name,
            ls.product,
            ls.category,
            ls.service,
            fields,
            raw,
        )


def _home(user: str) -> str:
    if user == "root":
        return "/root"
    if user in ("www-data", "apache"):
        return "/var/www/html"
    return f"/home/{user}"


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    """Numbers given as text (templates render text) become numbers."""
    out = values
    for name in _INT_FIELDS & values.keys():
        value = values[name]
        if isinstance(value, str) and value.strip().isdigit():
            if out is values:
                out = dict(values)
            out[name] = int(value)
    return out
