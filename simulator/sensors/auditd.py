"""Linux audit log (``/var/log/audit/audit.log``): one event per audit record.

An exec is several records that share ``msg=audit(<time>:<serial>)`` (SYSCALL,
EXECVE, CWD, PATH, PROCTITLE), and Sigma ``auditd`` rules match single records
(``type: EXECVE`` with ``a0``…, or ``type: SYSCALL`` with ``exe``), so each record is
its own event. :meth:`AuditdSensor.exec_records` writes a whole exec at once.
Arguments with spaces, quotes or non-ASCII are hex-encoded in the raw line, as
auditd does; fields keep them decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import split_ms, stable_int
from simulator.sensors.base import Logsource, Sensor, SensorContext
from simulator.sensors.windows import SensorInputError

if TYPE_CHECKING:
    from simulator.environment import Host

AUDITD = Logsource(product="linux", service="auditd")
RECORD_TYPES = {
    "execve": "EXECVE",
    "syscall": "SYSCALL",
    "cwd": "CWD",
    "path": "PATH",
    "proctitle": "PROCTITLE",
    "user_login": "USER_LOGIN",
    "user_cmd": "USER_CMD",
    "service_start": "SERVICE_START",
    "service_stop": "SERVICE_STOP",
    "config_change": "CONFIG_CHANGE",
}
_ORDER = {  # field order per record type, as auditd writes them
    "SYSCALL": (
        "arch",
        "syscall",
        "success",
        "exit",
        "a0",
        "a1",
        "a2",
        "a3",
        "items",
        "ppid",
        "pid",
        "auid",
        "uid",
        "gid",
        "euid",
        "suid",
        "fsuid",
        "egid",
        "sgid",
        "fsgid",
        "tty",
        "ses",
        "comm",
        "exe",
        "subj",
        "key",
    ),
    "CWD": ("cwd",),
    "PATH": (
        "item",
        "name",
        "inode",
        "dev",
        "mode",
        "ouid",
        "ogid",
        "rdev",
        "nametype",
        "cap_fp",
        "cap_fi",
        "cap_fe",
        "cap_fver",
    ),
    "PROCTITLE": ("proctitle",),
    "USER_LOGIN": ("pid", "uid", "auid", "ses", "subj", "msg"),
    "USER_CMD": ("pid", "uid", "auid", "ses", "subj", "msg"),
    "SERVICE_START": ("pid", "uid", "auid", "ses", "subj", "msg"),
    "SERVICE_STOP": ("pid", "uid", "auid", "ses", "subj", "msg"),
    "CONFIG_CHANGE": ("auid", "ses", "subj", "op", "key", "list", "res"),
}
_QUOTED = frozenset({"comm", "exe", "key", "name", "cwd", "subj_quoted"})


def encode_value(value: str) -> str:
    """auditd's encoding of an untrusted string: quoted, or hex when it must be."""
    if (
        value
        and value.isascii()
        and value.isprintable()
        and " " not in value
        and '"' not in value
    ):
        return f'"{value}"'
    return value.encode().hex().upper()


class AuditdSensor(Sensor):
    """auditd records; kind picks the record type (``execve`` by default)."""

    id = "auditd"
    kinds: ClassVar[dict[str, Logsource]] = dict.fromkeys(RECORD_TYPES, AUDITD)
    default_kind = "execve"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        k: frozenset(
            {"serial", "args", *_ORDER.get(t, ()), *(f"a{i}" for i in range(16))}
        )
        for k, t in RECORD_TYPES.items()
    }
    raw_format = "auditd"

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
        record_type = RECORD_TYPES.get(kind)
        if record_type is None:
            raise ValueError(
                f"auditd has no kind {kind!r}; kinds: " + ", ".join(RECORD_TYPES)
            )
        if host is None:
            raise SensorInputError("auditd events are written on a host: give one")
        serial = int(values.get("serial") or next_serial(ctx, host, ts))
        whole, millis = split_ms(ts)
        header = f"type={record_type} msg=audit({whole}.{millis:03d}:{serial}):"
        fields: dict[str, Any] = {"type": record_type, "serial": serial}
        if record_type == "EXECVE":
            args = values.get("args")
            if args is None:
                args = [str(values[f"a{i}"]) for i in range(64) if f"a{i}" in values]
            if isinstance(args, str):
                args = args.split()
            args = [str(a) for a in args] or ["/bin/true"]
            fields["argc"] = len(args)
            body = [f"argc={len(args)}"]
            for i, arg in enumerate(args):
                fields[f"a{i}"] = arg
                body.append(f"a{i}={encode_value(arg)}")
            raw = header + " " + " ".join(body)
        else:
            order = _ORDER[record_type]
            body = []
            for name in order:
                if name not in values:
                    continue
                value = values[name]
                fields[name] = value
                if name == "proctitle":
                    body.append(f"proctitle={str(value).encode().hex().upper()}")
                elif name == "msg":
                    body.append(f"msg='{value}'")
                elif name in _QUOTED:
                    body.append(f"{name}={encode_value(str(value))}")
                else:
                    body.append(f"{name}={value}")
            for name, value in values.items():  # anything else the caller gave
                if name not in fields and name not in ("args",):
                    fields[name] = value
            raw = header + (" " + " ".join(body) if body else "")
        return Event(
            uid,
            ts,
            self.id,
            host.name,
            AUDITD.product,
            AUDITD.category,
            AUDITD.service,
            fields,
            raw,
        )

    def exec_records(
        self,
        *,
        uid: str,
        ts: float,
        host: Host,
        args: list[str],
        ctx: SensorContext,
        user_id: int = 0,
        cwd: str = "/",
        pid: int | None = None,
        ppid: int | None = None,
        key: str = "exec",
        tty: str = "(none)",
    ) -> list[Event]:
        """The SYSCALL, EXECVE, CWD, PATH and PROCTITLE records of one exec."""
        rng = ctx.rng
        serial = next_serial(ctx, host, ts)
        exe = args[0] if args[0].startswith("/") else f"/usr/bin/{args[0]}"
        comm = exe.rsplit("/", 1)[-1][:15]
        pid = pid or 2000 + rng.getrandbits(16)
        ppid = ppid or 1000 + rng.getrandbits(14)
        ses = 1 + rng.getrandbits(8) if tty != "(none)" else 4294967295
        auid = user_id if tty != "(none)" else 4294967295
        common = {"serial": serial}
        syscall = {
            **common,
            "arch": "c000003e",
            "syscall": 59,
            "success": "yes",
            "exit": 0,
            "a0": f"{rng.getrandbits(44):x}",
            "a1": f"{rng.getrandbits(44):x}",
            "a2": f"{rng.getrandbits(44):x}",
            "a3": 0,
            "items": 2,
            "ppid": ppid,
            "pid": pid,
            "auid": auid,
            "uid": user_id,
            "gid": user_id,
            "euid": user_id,
            "suid": user_id,
            "fsuid": user_id,
            "egid": user_id,
            "sgid": user_id,
            "fsgid": user_id,
            "tty": tty,
            "ses": ses,
            "comm": comm,
            "exe": exe,
            "subj": "unconfined",
            "key": key,
        }
        path = {
            **common,
            "item": 0,
            "name": exe,
            "inode": 1_000_000 + stable_int(exe, bits=16),
            "dev": "08:01",
            "mode": "0100755",
            "ouid": 0,
            "ogid": 0,
            "rdev": "00:00",
            "nametype": "NORMAL",
            "cap_fp": 0,
            "cap_fi": 0,
            "cap_fe": 0,
            "cap_fver": 0,
        }
        proctitle = "\x00".join(args)
        return [
            self.event(
                uid=f"{uid}.1",
                ts=ts,
                kind="syscall",
                host=host,
                values=syscall,
                ctx=ctx,
            ),
            self.event(
                uid=f"{uid}.2",
                ts=ts,
                kind="execve",
                host=host,
                values={**common, "args": args},
                ctx=ctx,
            ),
            self.event(
                uid=f"{uid}.3",
                ts=ts,
                kind="cwd",
                host=host,
                values={**common, "cwd": cwd},
                ctx=ctx,
            ),
            self.event(
                uid=f"{uid}.4", ts=ts, kind="path", host=host, values=path, ctx=ctx
            ),
            self.event(
                uid=f"{uid}.5",
                ts=ts,
                kind="proctitle",
                host=host,
                values={**common, "proctitle": proctitle},
                ctx=ctx,
            ),
        ]


def next_serial(ctx: SensorContext, host: Host, ts: float) -> int:
    """auditd's per-boot event serial: increasing with time, unique in a context."""
    key = "audit|" + host.name
    estimate = 10_000 + int((ts - 1_704_067_200) * 5) % 900_000_000
    previous = ctx.counters.get(key, 0)
    value = estimate if estimate > previous else previous + 1
    ctx.counters[key] = value
    return value
