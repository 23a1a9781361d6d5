"""PowerShell Operational log: script block logging (4104) and module logging (4103).

4104 carries the whole script text (``ScriptBlockText``) that Sigma ``ps_script`` rules
read; PowerShell itself raises the record to Warning level when the text contains
constructs it considers suspicious, and the sensor does the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import guid, windows_pid
from simulator.sensors.base import Logsource, SensorContext
from simulator.sensors.windows import (
    SYSTEM_SID,
    EventSpec,
    WindowsSensor,
    coerce_ints,
    context_host,
    resolve_host,
    split_values,
)
from simulator.sensors.windows_security import principal

if TYPE_CHECKING:
    from simulator.environment import Host

PS_SCRIPT = Logsource(product="windows", category="ps_script", service="powershell")
PS_MODULE = Logsource(product="windows", category="ps_module", service="powershell")
_SPECS = {
    "ps_script": EventSpec(4104, 1, 2, PS_SCRIPT, level=5, opcode=15, keywords="0x0"),
    "ps_module": EventSpec(4103, 1, 106, PS_MODULE, level=4, opcode=20, keywords="0x0"),
}
_WARNING = EventSpec(4104, 1, 2, PS_SCRIPT, level=3, opcode=15, keywords="0x0")
# A short list of what PowerShell's own suspicious-content check looks for.
_SUSPICIOUS = (
    "frombase64string",
    "invoke-expression",
    "iex ",
    "downloadstring",
    "virtualalloc",
    "add-type",
    "reflection.assembly",
    "-encodedcommand",
    "amsiutils",
    "net.webclient",
)
FIELDS = {
    "ps_script": (
        "MessageNumber",
        "MessageTotal",
        "ScriptBlockText",
        "ScriptBlockId",
        "Path",
    ),
    "ps_module": ("ContextInfo", "UserData", "Payload"),
}


class PowerShellSensor(WindowsSensor):
    """``Microsoft-Windows-PowerShell/Operational``; ``User`` selects whose session."""

    id = "powershell"
    provider = "Microsoft-Windows-PowerShell"
    provider_guid = "A0C1853B-5C40-4B15-8766-3CF1C58F985A"
    channel = "Microsoft-Windows-PowerShell/Operational"
    kinds: ClassVar[dict[str, Logsource]] = {
        "ps_script": PS_SCRIPT,
        "ps_module": PS_MODULE,
    }
    default_kind = "ps_script"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        k: frozenset({*v, "User"}) for k, v in FIELDS.items()
    }

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
        if kind not in _SPECS:
            raise ValueError(
                f"powershell has no kind {kind!r}; kinds: ps_script, ps_module"
            )
        host = resolve_host(self.id, host, values, ctx)
        info = context_host(ctx, host)
        values, overrides = split_values(values)
        values = coerce_ints(values, frozenset({"MessageNumber", "MessageTotal"}))
        g = values.get
        user = str(g("User") or info.default_user)
        sid = (
            SYSTEM_SID
            if user.upper().startswith("NT AUTHORITY")
            else principal(ctx.org, user)[1]
        )
        pid = int(g("ProcessId") or windows_pid(ctx.rng))
        spec = _SPECS[kind]
        if kind == "ps_script":
            text = str(g("ScriptBlockText") or "Get-Date")
            lowered = text.lower()
            if any(w in lowered for w in _SUSPICIOUS):
                spec = _WARNING
            data: dict[str, Any] = {
                "MessageNumber": g("MessageNumber", 1),
                "MessageTotal": g("MessageTotal", 1),
                "ScriptBlockText": text,
                "ScriptBlockId": g("ScriptBlockId") or guid(ctx.rng),
                "Path": g("Path") or "",
            }
        else:
            payload = str(g("Payload") or 'CommandInvocation(Get-Date): "Get-Date"')
            data = {
                "ContextInfo": g("ContextInfo")
                or (
                    "        Severity = Informational\r\n        Host Name = "
                    "ConsoleHost\r\n        Host Application = powershell.exe\r\n"
                    f"        User = {user}\r\n"
                ),
                "UserData": g("UserData") or "",
                "Payload": payload,
            }
        for k, v in values.items():
            if k not in data and k not in ("User", "ProcessId"):
                data[k] = v
        return self.windows_event(
            uid=uid,
            ts=ts,
            host=host,
            spec=spec,
            data=data,
            ctx=ctx,
            security_sid=sid,
            process_id=pid,
            overrides=overrides,
        )
