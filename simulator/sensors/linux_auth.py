"""Linux authentication log (auth.log / secure): sshd, sudo and cron session lines.

Debian and Ubuntu hosts write BSD syslog (RFC 3164); RHEL-family hosts forward RFC
5424. Fields carry the parsed parts (``program``, ``user``, ``src_ip`` …) and the
message text that keyword rules search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import ephemeral_port, hex_id
from simulator.sensors import syslog
from simulator.sensors.base import Logsource, Sensor, SensorContext
from simulator.sensors.windows import SensorInputError

if TYPE_CHECKING:
    from simulator.environment import Host

AUTH = Logsource(product="linux", service="auth")
_SSHD = {  # action -> message template
    "accepted": "Accepted {method} for {user} from {src_ip} port {src_port} ssh2{key}",
    "failed": "Failed password for {user} from {src_ip} port {src_port} ssh2",
    "failed_invalid": "Failed password for invalid user {user} from {src_ip} port "
    "{src_port} ssh2",
    "invalid_user": "Invalid user {user} from {src_ip} port {src_port}",
    "closed_preauth": "Connection closed by authenticating user {user} {src_ip} port "
    "{src_port} [preauth]",
    "disconnected": "Disconnected from user {user} {src_ip} port {src_port}",
    "max_auth": "error: maximum authentication attempts exceeded for {user} from "
    "{src_ip} port {src_port} ssh2 [preauth]",
    "session_opened": "pam_unix(sshd:session): session opened for user {user}"
    "(uid={uid}) by (uid=0)",
    "session_closed": "pam_unix(sshd:session): session closed for user {user}",
}
_SUDO = {
    "command": "{pad}{user} : TTY={tty} ; PWD={pwd} ; USER={run_as} ; "
    "COMMAND={command}",
    "not_in_sudoers": "{pad}{user} : user NOT in sudoers ; TTY={tty} ; PWD={pwd} ; "
    "USER={run_as} ; COMMAND={command}",
    "incorrect_password": "{pad}{user} : 3 incorrect password attempts ; TTY={tty} ; "
    "PWD={pwd} ; USER={run_as} ; COMMAND={command}",
    "session_opened": "pam_unix(sudo:session): session opened for user {run_as}"
    "(uid=0) by {user}(uid={uid})",
    "session_closed": "pam_unix(sudo:session): session closed for user {run_as}",
}
_CRON = {
    "session_opened": "pam_unix(cron:session): session opened for user {user}"
    "(uid={uid}) by (uid=0)",
    "session_closed": "pam_unix(cron:session): session closed for user {user}",
    "command": "({user}) CMD ({command})",
}
_TEMPLATES = {"sshd": _SSHD, "sudo": _SUDO, "cron": _CRON}
_DEFAULT_ACTION = {"sshd": "accepted", "sudo": "command", "cron": "command"}
_PRI = {
    "sshd": syslog.AUTH_INFO,
    "sudo": syslog.AUTHPRIV_NOTICE,
    "cron": syslog.CRON_INFO,
}
_TAG = {"sshd": "sshd", "sudo": "sudo", "cron": "CRON"}


def uses_rfc5424(host: Host) -> bool:
    """RHEL-family hosts in the organisation forward RFC 5424; the others RFC 3164."""
    return "Rocky" in host.os or "Red Hat" in host.os


class LinuxAuthSensor(Sensor):
    """auth.log lines; kinds ``sshd``, ``sudo``, ``cron`` with an ``action`` value."""

    id = "linux_auth"
    kinds: ClassVar[dict[str, Logsource]] = {"sshd": AUTH, "sudo": AUTH, "cron": AUTH}
    default_kind = "sshd"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        "sshd": frozenset(
            {"action", "user", "src_ip", "src_port", "method", "pid", "uid", "key"}
        ),
        "sudo": frozenset(
            {"action", "user", "tty", "pwd", "run_as", "command", "pid", "uid"}
        ),
        "cron": frozenset({"action", "user", "command", "pid", "uid"}),
    }
    raw_format = "rfc3164"

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
        templates = _TEMPLATES.get(kind)
        if templates is None:
            raise ValueError(
                f"linux_auth has no kind {kind!r}; kinds: sshd, sudo, cron"
            )
        if host is None:
            raise SensorInputError("linux_auth events are written on a host: give one")
        g = values.get
        rng = ctx.rng
        action = str(g("action") or _DEFAULT_ACTION[kind])
        template = templates.get(action)
        if template is None:
            raise SensorInputError(
                f"linux_auth {kind} has no action {action!r}; actions: "
                + ", ".join(templates)
            )
        user = str(g("user") or ("root" if kind == "cron" else "deploy"))
        pid = int(g("pid") or 1000 + rng.getrandbits(15))
        parts = {
            "user": user,
            "uid": g("uid", 0 if user == "root" else 1000 + rng.getrandbits(6)),
            "pid": pid,
        }
        if kind == "sshd":
            method = str(g("method") or "publickey")
            parts.update(
                method=method,
                src_ip=str(g("src_ip") or ctx.org.hosts[0].ip),
                src_port=int(g("src_port") or ephemeral_port(rng)),
                key=(
                    f": ED25519 SHA256:{hex_id(rng, 32)}"
                    if method == "publickey" and action == "accepted"
                    else ""
                ),
            )
        elif kind == "sudo":
            parts.update(
                tty=str(g("tty") or "pts/0"),
                pwd=str(g("pwd") or f"/home/{user}"),
                run_as=str(g("run_as") or "root"),
                command=str(g("command") or "/usr/bin/systemctl status nginx"),
                pad="   ",
            )
        else:
            parts["command"] = str(
                g("command") or "cd / && run-parts --report /etc/cron.hourly"
            )
        message = template.format(**parts)
        fields: dict[str, Any] = {
            "program": _TAG[kind],
            "action": action,
            **parts,
            "message": message.strip(),
        }
        fields.pop("pad", None)
        fields.pop("key", None)
        if uses_rfc5424(host):
            raw = syslog.rfc5424(_PRI[kind], ts, host.name, _TAG[kind], pid, message)
        else:
            raw = syslog.rfc3164(_PRI[kind], ts, host.name, _TAG[kind], pid, message)
        return Event(
            uid,
            ts,
            self.id,
            host.name,
            AUTH.product,
            AUTH.category,
            AUTH.service,
            fields,
            raw,
        )
