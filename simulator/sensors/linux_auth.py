"""Linux authentication log (auth.log / secure): sshd, sudo and cron session lines.

Debian and Ubuntu hosts write BSD syslog (RFC 3164); RHEL-family hosts forward RFC
5424. Fields carry the parsed parts (``program``, ``user``, ``src_ip`` …) and the
message text that keyword rules search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import MILLIS, SECONDS
from simulator.sensors import syslog
from simulator.sensors.base import Logsource, Sensor, SensorContext
from simulator.sensors.windows import SensorInputError

if TYPE_CHECKING:
    from simulator.environment import Host

AUTH = Logsource(product="linux", service="auth")
# action -> message renderer. Each takes (user, uid, a, b, c, d): for sshd a, b, c, d
# are src_ip, src_port, method, key; for sudo they are tty, pwd, run_as, command; for
# cron only a (the command) is used. f-strings, because ``str.format`` with keyword
# arguments costs several times more on the per-line path.
Render = Callable[[str, Any, Any, Any, Any, Any], str]
_SSHD: dict[str, Render] = {
    "accepted": lambda user, uid, ip, port, method, key: (
        f"Accepted {method} for {user} from {ip} port {port} ssh2{key}"
    ),
    "failed": lambda user, uid, ip, port, method, key: (
        f"Failed password for {user} from {ip} port {port} ssh2"
    ),
    "failed_invalid": lambda user, uid, ip, port, method, key: (
        f"Failed password for invalid user {user} from {ip} port {port} ssh2"
    ),
    "invalid_user": lambda user, uid, ip, port, method, key: (
        f"Invalid user {user} from {ip} port {port}"
    ),
    "closed_preauth": lambda user, uid, ip, port, method, key: (
        f"Connection closed by authenticating user {user} {ip} port {port} [preauth]"
    ),
    "disconnected": lambda user, uid, ip, port, method, key: (
        f"Disconnected from user {user} {ip} port {port}"
    ),
    "max_auth": lambda user, uid, ip, port, method, key: (
        f"error: maximum authentication attempts exceeded for {user} from {ip} "
        f"port {port} ssh2 [preauth]"
    ),
    "session_opened": lambda user, uid, ip, port, method, key: (
        f"pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)"
    ),
    "session_closed": lambda user, uid, ip, port, method, key: (
        f"pam_unix(sshd:session): session closed for user {user}"
    ),
}
# sudo indents its message by three spaces after the tag; the field drops them.
_SUDO: dict[str, Render] = {
    "command": lambda user, uid, tty, pwd, run_as, command: (
        f"   {user} : TTY={tty} ; PWD={pwd} ; USER={run_as} ; COMMAND={command}"
    ),
    "not_in_sudoers": lambda user, uid, tty, pwd, run_as, command: (
        f"   {user} : user NOT in sudoers ; TTY={tty} ; PWD={pwd} ; "
        f"USER={run_as} ; COMMAND={command}"
    ),
    "incorrect_password": lambda user, uid, tty, pwd, run_as, command: (
        f"   {user} : 3 incorrect password attempts ; TTY={tty} ; PWD={pwd} ; "
        f"USER={run_as} ; COMMAND={command}"
    ),
    "session_opened": lambda user, uid, tty, pwd, run_as, command: (
        f"pam_unix(sudo:session): session opened for user {run_as}(uid=0) "
        f"by {user}(uid={uid})"
    ),
    "session_closed": lambda user, uid, tty, pwd, run_as, command: (
        f"pam_unix(sudo:session): session closed for user {run_as}"
    ),
}
_CRON: dict[str, Render] = {
    "session_opened": lambda user, uid, command, b, c, d: (
        f"pam_unix(cron:session): session opened for user {user}(uid={uid}) by (uid=0)"
    ),
    "session_closed": lambda user, uid, command, b, c, d: (
        f"pam_unix(cron:session): session closed for user {user}"
    ),
    "command": lambda user, uid, command, b, c, d: f"({user}) CMD ({command})",
}
_TEMPLATES = {"sshd": _SSHD, "sudo": _SUDO, "cron": _CRON}
_DEFAULT_ACTION = {"sshd": "accepted", "sudo": "command", "cron": "command"}
_PRI = {
    "sshd": syslog.AUTH_INFO,
    "sudo": syslog.AUTHPRIV_NOTICE,
    "cron": syslog.CRON_INFO,
}
_TAG = {"sshd": "sshd", "sudo": "sudo", "cron": "CRON"}
_HEADS_LIMIT = 4096


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
        render = templates.get(action)
        if render is None:
            raise SensorInputError(
                f"linux_auth {kind} has no action {action!r}; actions: "
                + ", ".join(templates)
            )
        tag = _TAG[kind]
        user = str(g("user") or ("root" if kind == "cron" else "deploy"))
        pid = int(g("pid") or 1000 + rng.getrandbits(15))
        uid_ = g("uid", 0 if user == "root" else 1000 + rng.getrandbits(6))
        if kind == "sshd":
            method = str(g("method") or "publickey")
            src_ip = str(g("src_ip") or ctx.org.hosts[0].ip)
            # ``fill.ephemeral_port``, inline on the per-line path
            src_port = int(g("src_port") or 49152 + rng.getrandbits(14))
            key = (  # the key's fingerprint: ``fill.hex_id(rng, 32)``, inline
                f": ED25519 SHA256:{rng.getrandbits(128):032x}"
                if method == "publickey" and action == "accepted"
                else ""
            )
            message = render(user, uid_, src_ip, src_port, method, key)
            fields: dict[str, Any] = {
                "program": tag,
                "action": action,
                "user": user,
                "uid": uid_,
                "pid": pid,
                "method": method,
                "src_ip": src_ip,
                "src_port": src_port,
                "message": message.strip(),
            }
        elif kind == "sudo":
            tty = str(g("tty") or "pts/0")
            pwd = str(g("pwd") or f"/home/{user}")
            run_as = str(g("run_as") or "root")
            command = str(g("command") or "/usr/bin/systemctl status nginx")
            message = render(user, uid_, tty, pwd, run_as, command)
            fields = {
                "program": tag,
                "action": action,
                "user": user,
                "uid": uid_,
                "pid": pid,
                "tty": tty,
                "pwd": pwd,
                "run_as": run_as,
                "command": command,
                "message": message.strip(),
            }
        else:
            command = str(g("command") or "cd / && run-parts --report /etc/cron.hourly")
            message = render(user, uid_, command, None, None, None)
            fields = {
                "program": tag,
                "action": action,
                "user": user,
                "uid": uid_,
                "pid": pid,
                "command": command,
                "message": message.strip(),
            }
        # The whole second and millisecond, split as ``simulator.fill.split_ms``
        # splits them (inline: this runs once per line).
        whole = int(ts // 1)
        millis = round((ts - whole) * 1000)
        if millis == 1000:
            whole, millis = whole + 1, 0
        rfc5424, head, middle = _heads(host)[kind]
        if rfc5424:
            stamp = f"{SECONDS[whole][0]}.{MILLIS[millis]}Z"
            raw = f"{head}{stamp}{middle}{pid} - - {message}"
        else:
            raw = f"{head}{SECONDS[whole][2]}{middle}{pid}]: {message}"
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


_HEADS: dict[int, tuple[Host, dict[str, tuple[bool, str, str]]]] = {}


def _heads(host: Host) -> dict[str, tuple[bool, str, str]]:
    """Per kind: (RFC 5424?, text before the time, text between time and pid).

    Built once per host: the priority, host name and program tag of a host's lines
    never change. Keyed by identity; the host is kept beside its entry so its id is
    never reused by another host while the entry lives.
    """
    entry = _HEADS.get(id(host))
    if entry is not None and entry[0] is host:
        return entry[1]
    if len(_HEADS) > _HEADS_LIMIT:
        _HEADS.clear()
    rfc5424 = uses_rfc5424(host)
    heads = {}
    for kind, tag in _TAG.items():
        if rfc5424:  # <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG
            heads[kind] = (True, f"<{_PRI[kind]}>1 ", f" {host.name} {tag} ")
        else:  # <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG
            heads[kind] = (False, f"<{_PRI[kind]}>", f" {host.name} {tag}[")
    _HEADS[id(host)] = (host, heads)
    return heads
