"""Sysmon (``Microsoft-Windows-Sysmon/Operational``): one kind per Sysmon event.

Given a few values (an image, a command line, a destination), the sensor fills the
rest as Sysmon would: process and logon GUIDs that encode the machine, time and
LogonId; process ids; hashes and version-resource fields of known binaries; user
sessions, integrity levels and typical parents. A process keeps its GUID and id
within one context, so an attack chain can be followed by ProcessGuid.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import (
    SECONDS,
    SYSTEM_LOGON_ID,
    ephemeral_port,
    logon_guid,
    process_guid,
    running_process,
    session_logon_id,
    sysmon_time,
    windows_pid,
)
from simulator.sensors import catalogue
from simulator.sensors.base import Logsource, SensorContext
from simulator.sensors.recipes import ProcessRecipe, WindowsRecipe
from simulator.sensors.sysmon_linux import LINUX_FIELDS, LINUX_SPECS, SysmonForLinux
from simulator.sensors.windows import (
    IGNORED_SYSTEM,
    SYSTEM_OVERRIDES,
    SYSTEM_SID,
    SYSTEM_USER,
    EventSpec,
    HostInfo,
    WindowsSensor,
    coerce_ints,
    context_host,
    resolve_host,
    split_values,
)

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation


def _ls(category: str) -> Logsource:
    return Logsource(product="windows", category=category, service="sysmon")


SPECS: dict[str, EventSpec] = {
    "process_creation": EventSpec(1, 5, 1, _ls("process_creation")),
    "network_connection": EventSpec(3, 5, 3, _ls("network_connection")),
    "process_termination": EventSpec(5, 3, 5, _ls("process_termination")),
    "image_load": EventSpec(7, 3, 7, _ls("image_load")),
    "create_remote_thread": EventSpec(8, 2, 8, _ls("create_remote_thread")),
    "process_access": EventSpec(10, 3, 10, _ls("process_access")),
    "file_event": EventSpec(11, 2, 11, _ls("file_event")),
    "registry_add": EventSpec(12, 2, 12, _ls("registry_add")),
    "registry_delete": EventSpec(12, 2, 12, _ls("registry_delete")),
    "registry_set": EventSpec(13, 2, 13, _ls("registry_set")),
    "registry_event": EventSpec(13, 2, 13, _ls("registry_event")),
    "pipe_created": EventSpec(17, 1, 17, _ls("pipe_created")),
    "dns_query": EventSpec(22, 5, 22, _ls("dns_query")),
    "file_delete": EventSpec(23, 5, 23, _ls("file_delete")),
}

FIELDS: dict[str, tuple[str, ...]] = {
    "process_creation": (
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
    "network_connection": (
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
    "process_termination": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "User",
    ),
    "image_load": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "ImageLoaded",
        "FileVersion",
        "Description",
        "Product",
        "Company",
        "OriginalFileName",
        "Hashes",
        "Signed",
        "Signature",
        "SignatureStatus",
        "User",
    ),
    "create_remote_thread": (
        "RuleName",
        "UtcTime",
        "SourceProcessGuid",
        "SourceProcessId",
        "SourceImage",
        "TargetProcessGuid",
        "TargetProcessId",
        "TargetImage",
        "NewThreadId",
        "StartAddress",
        "StartModule",
        "StartFunction",
        "SourceUser",
        "TargetUser",
    ),
    "process_access": (
        "RuleName",
        "UtcTime",
        "SourceProcessGUID",
        "SourceProcessId",
        "SourceThreadId",
        "SourceImage",
        "TargetProcessGUID",
        "TargetProcessId",
        "TargetImage",
        "GrantedAccess",
        "CallTrace",
        "SourceUser",
        "TargetUser",
    ),
    "file_event": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "TargetFilename",
        "CreationUtcTime",
        "User",
    ),
    "registry_add": (
        "RuleName",
        "EventType",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "TargetObject",
        "User",
    ),
    "registry_set": (
        "RuleName",
        "EventType",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "TargetObject",
        "Details",
        "User",
    ),
    "pipe_created": (
        "RuleName",
        "EventType",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "PipeName",
        "Image",
        "User",
    ),
    "dns_query": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "QueryName",
        "QueryStatus",
        "QueryResults",
        "Image",
        "User",
    ),
    "file_delete": (
        "RuleName",
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "User",
        "Image",
        "TargetFilename",
        "Hashes",
        "IsExecutable",
        "Archived",
    ),
}
FIELDS["registry_delete"] = FIELDS["registry_add"]
FIELDS["registry_event"] = FIELDS["registry_set"]

_INT_FIELDS = frozenset(
    {
        "ProcessId",
        "ParentProcessId",
        "TerminalSessionId",
        "SourcePort",
        "DestinationPort",
        "SourceProcessId",
        "TargetProcessId",
        "SourceThreadId",
        "NewThreadId",
    }
)
_SPECIAL = _INT_FIELDS | SYSTEM_OVERRIDES | IGNORED_SYSTEM
# Images Windows runs as SYSTEM unless told otherwise.
_SYSTEM_IMAGES = frozenset(
    {
        "svchost.exe",
        "services.exe",
        "lsass.exe",
        "msmpeng.exe",
        "tiworker.exe",
        "searchindexer.exe",
        "wmiprvse.exe",
        "spoolsv.exe",
        "sqlservr.exe",
        "w3wp.exe",
        "vkagent.exe",
        "monitoringhost.exe",
        "mousocoreworker.exe",
        "sysmon64.exe",
        "winlogon.exe",
        "mpcmdrun.exe",
        "wininit.exe",
        "trustedinstaller.exe",
    }
)
_PARENTS = {
    "svchost.exe": "C:\\Windows\\System32\\services.exe",
    "services.exe": "C:\\Windows\\System32\\wininit.exe",
    "taskhostw.exe": "C:\\Windows\\System32\\svchost.exe",
    "wuauclt.exe": "C:\\Windows\\System32\\svchost.exe",
    "tiworker.exe": "C:\\Windows\\System32\\svchost.exe",
    "mousocoreworker.exe": "C:\\Windows\\System32\\svchost.exe",
    "dllhost.exe": "C:\\Windows\\System32\\svchost.exe",
    "runtimebroker.exe": "C:\\Windows\\System32\\svchost.exe",
    "backgroundtaskhost.exe": "C:\\Windows\\System32\\svchost.exe",
    "wmiprvse.exe": "C:\\Windows\\System32\\svchost.exe",
    "searchindexer.exe": "C:\\Windows\\System32\\services.exe",
    "msmpeng.exe": "C:\\Windows\\System32\\services.exe",
    "conhost.exe": "C:\\Windows\\System32\\cmd.exe",
    "explorer.exe": "C:\\Windows\\System32\\userinit.exe",
    "userinit.exe": "C:\\Windows\\System32\\winlogon.exe",
    "sihost.exe": "C:\\Windows\\System32\\svchost.exe",
}
_COMMAND_LINES = {
    "explorer.exe": "C:\\Windows\\Explorer.EXE",
    "services.exe": "C:\\Windows\\system32\\services.exe",
    "svchost.exe": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
    "wininit.exe": "wininit.exe",
    "winlogon.exe": "winlogon.exe",
    "userinit.exe": "C:\\Windows\\system32\\userinit.exe",
}
_SYSTEM_PARENTS = frozenset(
    {"services.exe", "svchost.exe", "wininit.exe", "winlogon.exe", "smss.exe"}
)
_SERVICE_USERS = {
    "NT AUTHORITY\\SYSTEM": SYSTEM_LOGON_ID,
    "NT AUTHORITY\\LOCAL SERVICE": 0x3E5,
    "NT AUTHORITY\\NETWORK SERVICE": 0x3E4,
}
_PORT_NAMES = {
    443: "https",
    80: "http",
    445: "microsoft-ds",
    389: "ldap",
    636: "ldaps",
    88: "kerberos",
    53: "domain",
    3389: "ms-wbt-server",
    135: "epmap",
    5985: "wsman",
    1433: "ms-sql-s",
    22: "ssh",
    25: "smtp",
    8080: "http-alt",
}
_CALL_TRACE = (
    "C:\\Windows\\SYSTEM32\\ntdll.dll+{a:x}|C:\\Windows\\System32\\KERNELBASE.dll+"
    "{b:x}|{src}+{c:x}|C:\\Windows\\System32\\KERNEL32.DLL+17614|"
    "C:\\Windows\\SYSTEM32\\ntdll.dll+526f1"
)
_WEEK = 604_800
# What changes from one event of a shape to the next (everything else is the shape).
_VOLATILE: dict[str, tuple[str, ...]] = {
    "process_creation": (
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "ParentProcessGuid",
        "ParentProcessId",
    ),
    "network_connection": (
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "SourcePort",
        "SourcePortName",
    ),
    "process_termination": ("UtcTime", "ProcessGuid", "ProcessId"),
    "image_load": ("UtcTime", "ProcessGuid", "ProcessId"),
    "file_event": ("UtcTime", "ProcessGuid", "ProcessId", "CreationUtcTime"),
    "registry_set": ("UtcTime", "ProcessGuid", "ProcessId"),
    "registry_event": ("UtcTime", "ProcessGuid", "ProcessId"),
    "registry_add": ("UtcTime", "ProcessGuid", "ProcessId"),
    "registry_delete": ("UtcTime", "ProcessGuid", "ProcessId"),
    "dns_query": ("UtcTime", "ProcessGuid", "ProcessId"),
    "process_access": (
        "UtcTime",
        "SourceProcessGUID",
        "SourceProcessId",
        "SourceThreadId",
        "TargetProcessGUID",
        "TargetProcessId",
        "CallTrace",
    ),
}
# Values the fill would otherwise draw at random: a shape needs them given.
_STABLE_INPUTS = {
    "image_load": ("ImageLoaded",),
    "file_event": ("TargetFilename",),
    "dns_query": ("QueryName",),
    "network_connection": ("DestinationIp",),
    "process_creation": ("Image",),
}
_UNSAFE = frozenset({"CallTrace"})
_BRIEF = ("UtcTime", "ProcessGuid", "ProcessId")
_BRIEF_PORT = (*_BRIEF, "SourcePort", "SourcePortName")
_BRIEF_CREATION = (*_BRIEF, "CreationUtcTime")
_COMPILE_RNG = random.Random(0)  # only draws values that every event redraws
_EDGE = catalogue.by_name("msedge.exe").path
_EXPLORER = catalogue.by_name("explorer.exe").path
_POWERSHELL = catalogue.by_name("powershell.exe").path
SVCHOST_PATH = catalogue.by_name("svchost.exe").path


def base_name(path: str) -> str:
    """``powershell.exe`` from a full path, lower-cased."""
    return path.rpartition("\\")[2].lower()


def image_from_command_line(command_line: str) -> str | None:
    """The executable a command line starts, as a full path when it is known."""
    text = command_line.strip()
    if not text:
        return None
    first = text[1:].split('"', 1)[0] if text[0] == '"' else text.split(" ", 1)[0]
    if "\\" in first:
        return first
    name = first if first.lower().endswith(".exe") else first + ".exe"
    binary = catalogue.lookup(name)
    return binary.path if binary else None


class SysmonSensor(WindowsSensor):
    """Sysmon Operational log; flattened fields named as Sysmon and SigmaHQ do."""

    id = "sysmon"
    provider = "Microsoft-Windows-Sysmon"
    provider_guid = "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
    channel = "Microsoft-Windows-Sysmon/Operational"
    # The ``linux_*`` kinds are Sysmon for Linux (see ``sysmon_linux``).
    kinds: ClassVar[dict[str, Logsource]] = {
        **{k: s.logsource for k, s in SPECS.items()},
        **{k: s.logsource for k, s in LINUX_SPECS.items()},
    }
    default_kind = "process_creation"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        k: frozenset(v) for k, v in {**FIELDS, **LINUX_FIELDS}.items()
    }

    def __init__(self) -> None:
        super().__init__()
        self._fillers = {kind: getattr(self, "_" + kind) for kind in SPECS}
        self._linux = SysmonForLinux()

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
        if kind == "default":
            kind = self.default_kind
        spec = SPECS.get(kind)
        if spec is None:
            if kind in LINUX_SPECS:
                return self._linux.event(
                    uid=uid, ts=ts, kind=kind, host=host, values=values, ctx=ctx
                )
            raise ValueError(
                f"sysmon has no kind {kind!r}; kinds: {', '.join(self.kinds)}"
            )
        if host is None:
            host = resolve_host(self.id, host, values, ctx)
        info = context_host(ctx, host)
        overrides = None
        if values.keys() & _SPECIAL:
            values, overrides = split_values(values)
            values = coerce_ints(values, _INT_FIELDS)
        data = self._fillers[kind](values, info, ts, ctx)
        data.update(values)
        return self.windows_event(
            uid, ts, host, spec, data, ctx, SYSTEM_SID, info.service_pid, overrides
        )

    # --- compiled shapes (the noise generator's fast path) --------------------

    #: kinds whose compiled shape holds per-day values (logon ids)
    daily_kinds: ClassVar[frozenset[str]] = frozenset({"process_creation"})

    def compile(
        self,
        kind: str,
        host: Host,
        values: dict[str, Any],
        org: Organisation,
        ts: float,
    ) -> WindowsRecipe | None:
        """A recipe for events of this shape on this host (valid for ``ts``'s day).

        Returns None when the shape cannot be compiled (a value that must be drawn
        per event is missing, or values need the full path's conversions).
        """
        volatile = _VOLATILE.get(kind)
        if volatile is None or values.keys() & (SYSTEM_OVERRIDES | IGNORED_SYSTEM):
            return None
        values = coerce_ints(values, _INT_FIELDS)
        if any(k not in values for k in _STABLE_INPUTS.get(kind, ())):
            return None
        compile_ctx = SensorContext(org, _COMPILE_RNG)
        info = context_host(compile_ctx, host)
        data = self._fillers[kind](values, info, ts, compile_ctx)
        data.update(values)
        keys = tuple(k for k in volatile if k not in values)
        compute = self._compute(kind, info, data, keys)
        if (
            keys in (_BRIEF, _BRIEF_PORT, _BRIEF_CREATION)
            and kind != "process_creation"
        ):
            return ProcessRecipe(
                self,
                host,
                SPECS[kind],
                data,
                keys,
                compute,
                SYSTEM_SID,
                info.service_pid,
                _UNSAFE,
                computer=info.computer,
                image=data["Image"],
            )
        return WindowsRecipe(
            self,
            host,
            SPECS[kind],
            data,
            keys,
            compute,
            SYSTEM_SID,
            info.service_pid,
            _UNSAFE,
        )

    def _compute(
        self, kind: str, info: HostInfo, data: dict[str, Any], keys: tuple[str, ...]
    ) -> Callable[..., tuple[Any, ...]]:
        process = self._process
        image = data.get("Image") or data.get("SourceImage") or ""
        target = data.get("TargetImage") or ""
        parent = data.get("ParentImage") if kind == "process_creation" else None
        new = kind == "process_creation"
        wants_port = "SourcePort" in keys
        call_trace = "CallTrace" in keys
        if keys == ("UtcTime", "ProcessGuid", "ProcessId") and not new:
            # Most shapes: the process this event belongs to and the time.
            table_key = info.computer + "|" + image.lower()
            computer = info.computer

            def brief(ctx: SensorContext, ts: float) -> tuple[Any, ...]:
                table = ctx.cache.get("sysmon.proc")
                if table is None:
                    table = ctx.cache["sysmon.proc"] = {}
                known = table.get(table_key)
                if known is None:
                    rng = ctx.rng
                    known = table[table_key] = (
                        process_guid(computer, ts, rng),
                        windows_pid(rng),
                    )
                whole, millis = divmod(int(ts * 1000 + 0.5), 1000)
                return f"{SECONDS[whole][1]}.{millis:03d}", known[0], known[1]

            return brief

        def compute(ctx: SensorContext, ts: float) -> tuple[Any, ...]:
            utc = sysmon_time(ts)
            guid, pid = process(ctx, info, image, ts, None, None, new)
            got: dict[str, Any] = {
                "UtcTime": utc,
                "CreationUtcTime": utc,
                "ProcessGuid": guid,
                "ProcessId": pid,
                "SourceProcessGUID": guid,
                "SourceProcessId": pid,
            }
            if parent:
                got["ParentProcessGuid"], got["ParentProcessId"] = process(
                    ctx, info, parent, ts - 3600
                )
            if target:
                got["TargetProcessGUID"], got["TargetProcessId"] = process(
                    ctx, info, target, ts
                )
            rng = ctx.rng
            if wants_port:
                got["SourcePort"] = ephemeral_port(rng)
                got["SourcePortName"] = "-"
            if call_trace:
                got["SourceThreadId"] = windows_pid(rng)
                got["CallTrace"] = _CALL_TRACE.format(
                    a=0x9D000 + rng.getrandbits(12),
                    b=0x20000 + rng.getrandbits(16),
                    c=rng.getrandbits(16),
                    src=image,
                )
            return tuple(got[k] for k in keys)

        return compute

    # --- shared fillers ----------------------------------------------------

    @staticmethod
    def _process(
        ctx: SensorContext,
        info: HostInfo,
        image: str,
        ts: float,
        guid: str | None = None,
        pid: int | None = None,
        new: bool = False,
    ) -> tuple[str, int]:
        """The (ProcessGuid, ProcessId) of ``image`` on this host in this context."""
        table = ctx.cache.get("sysmon.proc")
        if table is None:
            table = ctx.cache["sysmon.proc"] = {}
        key = info.computer + "|" + image.lower()
        known = None if new else table.get(key)
        if known is not None and guid is None and pid is None:
            return known
        if guid is None and pid is None and not new:
            # A process nobody saw start: the instance that has run since morning.
            found = running_process(info.computer, image, int(ts // 86_400))
            table[key] = found
            return found
        if guid is None:
            guid = process_guid(info.computer, ts, ctx.rng)
        if pid is None:
            pid = windows_pid(ctx.rng)
        table[key] = (guid, pid)
        return guid, pid

    @staticmethod
    def _user(values: dict[str, Any], info: HostInfo, image: str) -> str:
        user = values.get("User")
        if user:
            return str(user)
        if base_name(image) in _SYSTEM_IMAGES:
            return SYSTEM_USER
        return info.default_user

    # --- one filler per kind -------------------------------------------------
    # Each filler computes what the caller did not give, in Sysmon's field order;
    # ``event`` then lays the caller's values over it (so given values win, keep
    # their place, and names Sysmon never writes are kept at the end).

    def _process_creation(self, v, info: HostInfo, ts, ctx) -> dict[str, Any]:
        g = v.get
        command_line = g("CommandLine")
        image = g("Image") or (command_line and image_from_command_line(command_line))
        image = image or "C:\\Windows\\System32\\cmd.exe"
        if not command_line:
            command_line = f'"{image}"' if " " in image else image
        version, description, product, company, original, hashes = catalogue.metadata(
            image, info.host.os
        )
        user = self._user(v, info, image)
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId"), new=True
        )
        parent_image = g("ParentImage")
        if not parent_image:
            parent_image = _PARENTS.get(base_name(image)) or (
                "C:\\Windows\\System32\\services.exe"
                if user == SYSTEM_USER
                else "C:\\Windows\\explorer.exe"
            )
        parent_name = base_name(parent_image)
        parent_guid, parent_pid = self._process(
            ctx,
            info,
            parent_image,
            ts - 3600,
            g("ParentProcessGuid"),
            g("ParentProcessId"),
        )
        logon_id, logon_guid_, session = _session(info, user, ts, ctx)
        if user in _SERVICE_USERS:
            current_dir, integrity = "C:\\Windows\\system32\\", "System"
        else:
            current_dir = f"C:\\Users\\{user.rpartition(chr(92))[2]}\\"
            integrity = "Medium"
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "FileVersion": version,
            "Description": description,
            "Product": product,
            "Company": company,
            "OriginalFileName": original,
            "CommandLine": command_line,
            "CurrentDirectory": current_dir,
            "User": user,
            "LogonGuid": logon_guid_,
            "LogonId": logon_id,
            "TerminalSessionId": session,
            "IntegrityLevel": integrity,
            "Hashes": hashes,
            "ParentProcessGuid": parent_guid,
            "ParentProcessId": parent_pid,
            "ParentImage": parent_image,
            "ParentCommandLine": _COMMAND_LINES.get(parent_name)
            or (f'"{parent_image}"' if " " in parent_image else parent_image),
            "ParentUser": SYSTEM_USER if parent_name in _SYSTEM_PARENTS else user,
        }

    def _process_termination(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or "C:\\Windows\\System32\\conhost.exe"
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "User": self._user(v, info, image),
        }

    def _network_connection(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or _EDGE
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        destination = g("DestinationIp") or _default_destination(ctx)
        port = g("DestinationPort") or 443
        source = g("SourceIp") or info.host.ip
        source_port = g("SourcePort") or ephemeral_port(ctx.rng)
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "User": self._user(v, info, image),
            "Protocol": "tcp",
            "Initiated": "true",
            "SourceIsIpv6": "true" if ":" in source else "false",
            "SourceIp": source,
            "SourceHostname": info.computer,
            "SourcePort": source_port,
            "SourcePortName": _PORT_NAMES.get(source_port, "-"),
            "DestinationIsIpv6": "true" if ":" in destination else "false",
            "DestinationIp": destination,
            "DestinationHostname": "-",
            "DestinationPort": port,
            "DestinationPortName": _PORT_NAMES.get(port, "-"),
        }

    def _image_load(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or _POWERSHELL
        loaded = g("ImageLoaded") or ctx.rng.choice(catalogue.LIBRARIES).path
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        version, description, product, company, original, hashes = catalogue.metadata(
            loaded, info.host.os
        )
        signed, signature, status = catalogue.signature(loaded)
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "ImageLoaded": loaded,
            "FileVersion": version,
            "Description": description,
            "Product": product,
            "Company": company,
            "OriginalFileName": original,
            "Hashes": hashes,
            "Signed": signed,
            "Signature": signature,
            "SignatureStatus": status,
            "User": self._user(v, info, image),
        }

    def _create_remote_thread(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        source = g("SourceImage") or catalogue.by_name("rundll32.exe").path
        target = g("TargetImage") or catalogue.by_name("explorer.exe").path
        s_guid, s_pid = self._process(
            ctx, info, source, ts, g("SourceProcessGuid"), g("SourceProcessId")
        )
        t_guid, t_pid = self._process(
            ctx, info, target, ts, g("TargetProcessGuid"), g("TargetProcessId")
        )
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "SourceProcessGuid": s_guid,
            "SourceProcessId": s_pid,
            "SourceImage": source,
            "TargetProcessGuid": t_guid,
            "TargetProcessId": t_pid,
            "TargetImage": target,
            "NewThreadId": windows_pid(ctx.rng),
            "StartAddress": f"0x{ctx.rng.getrandbits(44):012X}",
            "StartModule": "-",
            "StartFunction": "-",
            "SourceUser": self._user({}, info, source),
            "TargetUser": self._user({}, info, target),
        }

    def _process_access(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        rng = ctx.rng
        source = g("SourceImage") or SVCHOST_PATH
        target = g("TargetImage") or catalogue.by_name("lsass.exe").path
        s_guid, s_pid = self._process(
            ctx, info, source, ts, g("SourceProcessGUID"), g("SourceProcessId")
        )
        t_guid, t_pid = self._process(
            ctx, info, target, ts, g("TargetProcessGUID"), g("TargetProcessId")
        )
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "SourceProcessGUID": s_guid,
            "SourceProcessId": s_pid,
            "SourceThreadId": windows_pid(rng),
            "SourceImage": source,
            "TargetProcessGUID": t_guid,
            "TargetProcessId": t_pid,
            "TargetImage": target,
            "GrantedAccess": "0x1000",
            "CallTrace": _CALL_TRACE.format(
                a=0x9D000 + rng.getrandbits(12),
                b=0x20000 + rng.getrandbits(16),
                c=rng.getrandbits(16),
                src=source,
            ),
            "SourceUser": self._user({}, info, source),
            "TargetUser": self._user({}, info, target),
        }

    def _file_event(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or _EXPLORER
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        user = self._user(v, info, image)
        now = sysmon_time(ts)
        target = g("TargetFilename") or (
            f"C:\\Users\\{user.rpartition(chr(92))[2]}\\AppData\\Local\\Temp\\"
            f"tmp{ctx.rng.getrandbits(16):04X}.tmp"
        )
        return {
            "RuleName": "-",
            "UtcTime": now,
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "TargetFilename": target,
            "CreationUtcTime": now,
            "User": user,
        }

    def _registry_add(self, v, info, ts, ctx, event_type="CreateKey") -> dict:
        g = v.get
        image = g("Image") or SVCHOST_PATH
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        return {
            "RuleName": "-",
            "EventType": event_type,
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
            "Explorer",
            "User": self._user(v, info, image),
        }

    def _registry_delete(self, v, info, ts, ctx) -> dict[str, Any]:
        return self._registry_add(v, info, ts, ctx, "DeleteKey")

    def _registry_set(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or SVCHOST_PATH
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        return {
            "RuleName": "-",
            "EventType": "SetValue",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "Image": image,
            "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
            "WindowsUpdate\\Auto Update\\LastOnlineScanTimeForAppCategory",
            "Details": "DWORD (0x00000001)",
            "User": self._user(v, info, image),
        }

    _registry_event = _registry_set

    def _pipe_created(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or SVCHOST_PATH
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        return {
            "RuleName": "-",
            "EventType": "CreatePipe",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "PipeName": f"\\mojo.{pid}.{ctx.rng.getrandbits(20)}",
            "Image": image,
            "User": self._user(v, info, image),
        }

    def _dns_query(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or _EDGE
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        query = g("QueryName")
        results = "-"
        if not query:
            site = ctx.rng.choice(ctx.org.external_sites)
            query, results = site.domain, f"::ffff:{site.ip};"
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "QueryName": query,
            "QueryStatus": "0",
            "QueryResults": results,
            "Image": image,
            "User": self._user(v, info, image),
        }

    def _file_delete(self, v, info, ts, ctx) -> dict[str, Any]:
        g = v.get
        image = g("Image") or _EXPLORER
        guid, pid = self._process(
            ctx, info, image, ts, g("ProcessGuid"), g("ProcessId")
        )
        user = self._user(v, info, image)
        target = g("TargetFilename") or (
            f"C:\\Users\\{user.rpartition(chr(92))[2]}\\Downloads\\setup.tmp"
        )
        return {
            "RuleName": "-",
            "UtcTime": sysmon_time(ts),
            "ProcessGuid": guid,
            "ProcessId": pid,
            "User": user,
            "Image": image,
            "TargetFilename": target,
            "Hashes": catalogue.metadata(target, info.host.os)[5],
            "IsExecutable": "true"
            if target.lower().endswith((".exe", ".dll"))
            else "false",
            "Archived": "true",
        }


def _session(
    info: HostInfo, user: str, ts: float, ctx: SensorContext
) -> tuple[str, str, int]:
    """(LogonId, LogonGuid, TerminalSessionId) of ``user``'s session at ``ts``."""
    service_id = _SERVICE_USERS.get(user)
    if service_id is not None:
        boot = ts - ts % _WEEK
        return f"0x{service_id:x}", logon_guid(info.computer, boot, service_id), 0
    day = int(ts // 86400)
    logon_id = session_logon_id(ctx.org.seed, info.computer, user, day)
    guid = logon_guid(info.computer, day * 86400 + 25_200, logon_id)
    return f"0x{logon_id:x}", guid, 2 if info.is_server else 1


def _default_destination(ctx: SensorContext) -> str:
    return ctx.rng.choice(ctx.org.external_sites).ip
