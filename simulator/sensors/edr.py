"""Endpoint detection and response alerts, in a vendor-neutral JSON shape.

Mirrors what Defender (AlertInfo/AlertEvidence), CrowdStrike and ECS ``event.kind:
alert`` records carry: title, severity, tactic and techniques, the action taken, and
the device, user, process and parent it concerns, with the Sysmon ProcessGuid for
pivoting. Logsource: ``category: edr`` (no SigmaHQ equivalent; the pack uses this).
Response actions (host isolation) are written with ``kind: action``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from simulator.events import Event
from simulator.fill import iso_ms, windows_pid
from simulator.sensors.base import Logsource, Sensor, SensorContext
from simulator.sensors.windows import SensorInputError

if TYPE_CHECKING:
    from simulator.environment import Host

EDR = Logsource(category="edr")
FIELD_NAMES = frozenset(
    {
        "alert_id",
        "time",
        "title",
        "severity",
        "confidence",
        "status",
        "tactic",
        "techniques",
        "action",
        "detection_source",
        "rule_name",
        "device",
        "user",
        "process",
        "parent",
        "file",
        "network",
        "image",
        "command_line",
        "sha256",
        "parent_image",
        "process_guid",
        "remote_ip",
        "remote_domain",
        "operation",
        "initiated_by",
        "comment",
    }
)
_SEVERITIES = ("informational", "low", "medium", "high", "critical")


class EdrSensor(Sensor):
    """Alerts and response-action records from the EDR console, per device."""

    id = "edr"
    kinds: ClassVar[dict[str, Logsource]] = {"alert": EDR, "action": EDR}
    default_kind = "alert"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        "alert": FIELD_NAMES,
        "action": FIELD_NAMES,
    }
    raw_format = "json"

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
        if kind not in self.kinds:
            raise ValueError(f"edr has no kind {kind!r}; kinds: alert, action")
        if host is None:
            raise SensorInputError("edr records concern a device: give a host")
        g = values.get
        rng = ctx.rng
        org = ctx.org
        owner = org.user(host.owner) if host.owner else None
        device = {
            "hostname": host.name,
            "id": f"{host.sid or host.name}".lower(),
            "os": host.os,
            "ip": host.ip,
        }
        user = g("user") or (
            {"name": owner.sam, "domain": org.netbios, "sid": owner.sid}
            if owner
            else {}
        )
        stamp = iso_ms(ts)
        alert_id = g("alert_id") or f"edr-{stamp[:4]}-{rng.getrandbits(24):07d}"
        if kind == "action":
            record: dict[str, Any] = {
                "alert_id": alert_id,
                "time": stamp,
                "operation": g("operation") or "isolate_host",
                "status": g("status") or "completed",
                "initiated_by": g("initiated_by") or "soc-console",
                "comment": g("comment") or "",
                "device": device,
            }
        else:
            image = str(
                g("image")
                or "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
            )
            severity = str(g("severity") or "medium").lower()
            if severity not in _SEVERITIES:
                raise SensorInputError(
                    f"edr severity {severity!r} is not one of " + ", ".join(_SEVERITIES)
                )
            process = g("process") or {
                "image": image,
                "command_line": str(g("command_line") or image),
                "pid": windows_pid(rng),
                "guid": g("process_guid") or "",
                "sha256": g("sha256") or "",
                "integrity": "Medium" if owner else "System",
            }
            record = {
                "alert_id": alert_id,
                "time": stamp,
                "title": str(g("title") or "Suspicious process behaviour"),
                "severity": severity,
                "confidence": int(g("confidence") or 60),
                "status": g("status") or "new",
                "tactic": g("tactic") or "Execution",
                "techniques": list(g("techniques") or []),
                "action": g("action") or "detected",
                "detection_source": g("detection_source") or "EDR",
                "rule_name": g("rule_name") or "",
                "device": device,
                "user": user,
                "process": process,
                "parent": g("parent")
                or ({"image": g("parent_image")} if g("parent_image") else {}),
                "file": g("file") or {},
                "network": g("network")
                or (
                    {"remote_ip": g("remote_ip"), "remote_domain": g("remote_domain")}
                    if g("remote_ip") or g("remote_domain")
                    else {}
                ),
            }
        for k, v in values.items():
            if k not in record:
                record[k] = v
        raw = orjson.dumps(record).decode()
        return Event(uid, ts, self.id, host.name, None, EDR.category, None, record, raw)
