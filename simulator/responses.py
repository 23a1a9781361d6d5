"""What the team's response actions changed in the sandbox, and the logs they leave.

:class:`ResponseState` is the engine's record of containment: isolated hosts, disabled
accounts, reset passwords, blocked addresses and domains, revoked sessions, disabled
access keys. :meth:`ResponseState.apply` changes it and returns the log records the
real tool would write (an EDR isolation event, Security 4725 when an account is
disabled, a firewall configuration event for a block, CloudTrail ``UpdateAccessKey``
…); :meth:`ResponseState.holds` answers a stage's ``requires`` conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator import vocabulary

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation, User
    from simulator.events import Event
    from simulator.sensors.base import SensorContext


class ResponseError(ValueError):
    """An action that cannot be applied; the state is left unchanged."""


@dataclass(frozen=True, slots=True)
class AppliedAction:
    """One response action as it was applied."""

    ts: float
    action: str
    target: str


# action -> (state set it adds to, state set it removes from)
_EFFECTS: dict[str, tuple[str | None, str | None]] = {
    "isolate_host": ("isolated_hosts", None),
    "release_host": (None, "isolated_hosts"),
    "disable_account": ("disabled_accounts", None),
    "enable_account": (None, "disabled_accounts"),
    "reset_password": ("reset_passwords", None),
    "block_ip": ("blocked_ips", None),
    "unblock_ip": (None, "blocked_ips"),
    "block_domain": ("blocked_domains", None),
    "unblock_domain": (None, "blocked_domains"),
    "kill_process": (None, None),
    "quarantine_file": (None, None),
    "revoke_sessions": ("revoked_sessions", None),
    "disable_access_key": ("disabled_keys", None),
}


@dataclass(slots=True)
class ResponseState:
    """Containment in effect, keyed by host name, sAMAccountName, address, domain."""

    isolated_hosts: set[str] = field(default_factory=set)
    disabled_accounts: set[str] = field(default_factory=set)
    reset_passwords: set[str] = field(default_factory=set)
    blocked_ips: set[str] = field(default_factory=set)
    blocked_domains: set[str] = field(default_factory=set)
    revoked_sessions: set[str] = field(default_factory=set)
    disabled_keys: set[str] = field(default_factory=set)
    history: list[AppliedAction] = field(default_factory=list)
    _serial: int = 0

    def apply(
        self,
        action: str,
        target: Any,
        ts: float,
        ctx: SensorContext | None = None,
        *,
        sensors: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> list[Event]:
        """Apply ``action`` to ``target`` at ``ts``; return the logs it writes.

        ``target`` is a ``User``, a ``Host``, or their name; an address or domain
        string for blocks. Without ``ctx`` the state changes and no log is written.
        """
        if action not in _EFFECTS:
            from simulator.scenario.problems import did_you_mean

            raise ResponseError(
                f"unknown response action '{action}'"
                f"{did_you_mean(action, vocabulary.RESPONSE_ACTIONS)}"
            )
        key = target_key(target)
        if not key:
            raise ResponseError(f"{action}: the target is empty")
        events: list[Event] = []
        if ctx is not None:
            # Logs first: if a sensor refuses the input, the state stays unchanged.
            registry = sensors if sensors is not None else _registry()
            uid = f"r-{self._serial + 1}"
            writer = _LOG_WRITERS[action]
            actor = actor or _default_actor(ctx.org)
            written = writer(registry, uid, ts, target, key, ctx.org, ctx, actor)
            events = [e for e in written if e is not None]
            self._serial += 1
        add, remove = _EFFECTS[action]
        if add is not None:
            getattr(self, add).add(key)
        if remove is not None:
            getattr(self, remove).discard(key)
        self.history.append(AppliedAction(ts, action, key))
        return events

    def blocked_at(self, destination: str, ts: float) -> str | None:
        """``"ip"`` or ``"domain"`` when a block covered ``destination`` at ``ts``.

        Unlike :meth:`holds` this reads the history, so a batch run can ask about any
        moment: a block applies to traffic after it, until an unblock.
        """
        key = target_key(destination)
        state: dict[str, bool] = {}
        for applied in sorted(self.history, key=lambda a: a.ts):
            if applied.ts > ts:
                break
            if applied.action in ("block_ip", "unblock_ip") and applied.target == key:
                state["ip"] = applied.action == "block_ip"
            elif applied.action in ("block_domain", "unblock_domain") and (
                key == applied.target or key.endswith("." + applied.target)
            ):
                state["domain"] = applied.action == "block_domain"
        for kind in ("ip", "domain"):
            if state.get(kind):
                return kind
        return None

    def holds(self, condition: str, target: Any) -> bool:
        """True while ``condition`` (a ``requires`` key) still holds for ``target``."""
        key = target_key(target)
        if condition == "host_online":
            return key not in self.isolated_hosts
        if condition == "account_enabled":
            return key not in self.disabled_accounts
        if condition == "password_unchanged":
            return key not in self.reset_passwords
        if condition == "not_blocked":
            return key not in self.blocked_ips and not _under_any(
                key, self.blocked_domains
            )
        if condition == "key_active":
            return key not in self.disabled_keys
        if condition == "sessions_valid":
            return key not in self.revoked_sessions
        raise ResponseError(f"unknown condition '{condition}'")


def target_key(target: Any) -> str:
    """The state key of a target: host name, sAMAccountName, address or domain."""
    if hasattr(target, "sam"):
        return str(target.sam).lower()
    if hasattr(target, "fqdn"):
        return str(target.name).lower()
    text = str(target).strip().rstrip(".").lower()
    if "\\" in text:  # DOMAIN\sam
        text = text.rsplit("\\", 1)[-1]
    return text


def _under_any(name: str, domains: set[str]) -> bool:
    return any(name == d or name.endswith("." + d) for d in domains)


# --- the logs each action writes -----------------------------------------------------

Writer = Callable[..., list["Event | None"]]


def _emit(
    registry: Mapping[str, Any],
    sensor_id: str,
    kind: str | None,
    uid: str,
    ts: float,
    host: Host | None,
    values: dict[str, Any],
    ctx: SensorContext,
) -> Event | None:
    sensor = registry.get(sensor_id)
    if sensor is None:
        return None
    chosen = kind if kind in getattr(sensor, "kinds", {}) else sensor.default_kind
    return sensor.event(uid=uid, ts=ts, kind=chosen, host=host, values=values, ctx=ctx)


def _host(org: Organisation, target: Any, key: str) -> Host | None:
    if hasattr(target, "fqdn"):
        return target
    return org.host(key) if org.has_host(key) else None


def _user(org: Organisation, target: Any, key: str) -> User | None:
    if hasattr(target, "sam"):
        return target
    try:
        return org.user(key)
    except KeyError:
        return None


def _edr(operation: str, comment: str) -> Writer:
    def write(registry, uid, ts, target, key, org, ctx, actor):
        host = _host(org, target, key)
        if host is None:
            raise ResponseError(f"{operation}: no host called '{key}'")
        values = {
            "operation": operation,
            "status": "completed",
            "initiated_by": actor,
            "comment": comment,
        }
        return [_emit(registry, "edr", "action", uid, ts, host, values, ctx)]

    return write


def _account(event_id: int) -> Writer:
    def write(registry, uid, ts, target, key, org, ctx, actor):
        user = _user(org, target, key)
        if user is None:
            raise ResponseError(f"no account called '{key}'")
        dc = _domain_controller(org)
        values = {
            "EventID": event_id,
            "TargetUserName": user.sam,
            "TargetDomainName": org.netbios,
            "TargetSid": user.sid,
            "SubjectUserName": actor,
            "SubjectDomainName": org.netbios,
        }
        return [_emit(registry, "windows_security", None, uid, ts, dc, values, ctx)]

    return write


def _block(kind: str, added: bool) -> Writer:
    def write(registry, uid, ts, target, key, org, ctx, actor):
        sensor = registry.get("firewall")
        if sensor is None or "config" not in getattr(sensor, "kinds", {}):
            return []  # the firewall writes its denials when traffic is refused
        verb = "added" if added else "removed"
        values = {
            "action": "config",
            "rule": f"soc-block-{key}",
            "user": actor,
            "message": f"{actor} {verb} deny rule for {kind} {key}",
            ("dst_ip" if kind == "address" else "dst_host"): key,
        }
        firewall = _appliance(org, "firewall")
        return [_emit(registry, "firewall", "config", uid, ts, firewall, values, ctx)]

    return write


def _sessions(registry, uid, ts, target, key, org, ctx, actor):
    sensor = registry.get("idp_signin")
    if sensor is None or "audit" not in getattr(sensor, "kinds", {}):
        return []  # later sign-ins with the revoked tokens fail instead
    user = _user(org, target, key)
    values = {
        "OperationName": "Revoke user sessions",
        "UserPrincipalName": user.upn if user else key,
        "InitiatedBy": actor,
        "Result": "success",
    }
    return [_emit(registry, "idp_signin", "audit", uid, ts, None, values, ctx)]


def _access_key(registry, uid, ts, target, key, org, ctx, actor):
    user = _user(org, target, key)
    iam = _iam_user(org, user.sam if user else key)
    if iam is None:
        raise ResponseError(f"no cloud access key belongs to '{key}'")
    values: dict[str, Any] = {
        "user": actor if _iam_user(org, actor) else iam.user_name,
        "eventSource": "iam.amazonaws.com",
        "eventName": "UpdateAccessKey",
        "requestParameters": {
            "userName": iam.user_name,
            "accessKeyId": iam.access_keys[0] if iam.access_keys else "",
            "status": "Inactive",
        },
    }
    return [_emit(registry, "cloudtrail", None, uid, ts, None, values, ctx)]


def _default_actor(org: Organisation) -> str:
    """The account a response is logged under: the first IT administrator."""
    admins = org.admins
    return admins[0].sam if admins else "soc-analyst"


def _domain_controller(org: Organisation) -> Host | None:
    dcs = org.hosts_where(kind="domain_controller")
    return dcs[0] if dcs else None


def _appliance(org: Organisation, role: str) -> Host | None:
    try:
        return org.appliance(role)
    except KeyError:
        return None


def _iam_user(org: Organisation, sam: str) -> Any:
    for account in org.cloud_accounts:
        for iam in account.iam_users:
            if (iam.owner or "").lower() == sam.lower() or iam.user_name == sam:
                return iam
    return None


_LOG_WRITERS: dict[str, Writer] = {
    "isolate_host": _edr("isolate_host", "Device isolated from the network"),
    "release_host": _edr("release_host", "Device released from isolation"),
    "kill_process": _edr("kill_process", "Process terminated by an analyst"),
    "quarantine_file": _edr("quarantine_file", "File quarantined by an analyst"),
    "disable_account": _account(4725),
    "enable_account": _account(4722),
    "reset_password": _account(4724),
    "block_ip": _block("address", added=True),
    "unblock_ip": _block("address", added=False),
    "block_domain": _block("domain", added=True),
    "unblock_domain": _block("domain", added=False),
    "revoke_sessions": _sessions,
    "disable_access_key": _access_key,
}


def _registry() -> Mapping[str, Any]:
    from simulator.sensors import SENSORS

    return SENSORS
