"""Windows Security log (``Security``, Microsoft-Windows-Security-Auditing).

The kind is chosen by ``EventID`` in the values (4624, 4625, 4688 …); every event has
Sigma logsource ``product: windows, service: security``, and 4688 also carries
``category: process_creation``. Names given for subjects and targets are completed
from the organisation (SIDs, domains, logon ids), the rest as Windows writes it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import (
    SYSTEM_LOGON_ID,
    ephemeral_port,
    guid,
    session_logon_id,
    windows_pid,
)
from simulator.sensors.base import Logsource, SensorContext
from simulator.sensors.recipes import WindowsRecipe
from simulator.sensors.windows import (
    SYSTEM_OVERRIDES,
    EventSpec,
    HostInfo,
    SensorInputError,
    WindowsSensor,
    coerce_ints,
    context_host,
    resolve_host,
    split_values,
)

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation

SECURITY = Logsource(product="windows", service="security")
PROCESS_CREATION = Logsource(
    product="windows", category="process_creation", service="security"
)
SUCCESS = "0x8020000000000000"
FAILURE = "0x8010000000000000"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
NULL_SID = "S-1-0-0"

# EventID -> (Version, Task, Keywords); Level is 0 (LogAlways) for the Security log.
_SYSTEM: dict[int, tuple[int, int, str]] = {
    4624: (2, 12544, SUCCESS),
    4625: (0, 12544, FAILURE),
    4634: (0, 12545, SUCCESS),
    4647: (0, 12545, SUCCESS),
    4648: (0, 12544, SUCCESS),
    4663: (1, 12800, SUCCESS),
    4672: (0, 12548, SUCCESS),
    4688: (2, 13312, SUCCESS),
    4698: (1, 12804, SUCCESS),
    4720: (0, 13824, SUCCESS),
    4722: (0, 13824, SUCCESS),
    4724: (0, 13824, SUCCESS),
    4725: (0, 13824, SUCCESS),
    4726: (0, 13824, SUCCESS),
    4728: (0, 13826, SUCCESS),
    4732: (0, 13826, SUCCESS),
    4740: (0, 13824, SUCCESS),
    4756: (0, 13826, SUCCESS),
    4768: (0, 14339, SUCCESS),
    4769: (0, 14337, SUCCESS),
    4771: (0, 14339, FAILURE),
    4776: (0, 14336, SUCCESS),
}
_SUBJECT = ("SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId")
_TARGET_ACCOUNT = ("TargetUserName", "TargetDomainName", "TargetSid", *_SUBJECT)
FIELDS: dict[int, tuple[str, ...]] = {
    4624: (
        *_SUBJECT,
        "TargetUserSid",
        "TargetUserName",
        "TargetDomainName",
        "TargetLogonId",
        "LogonType",
        "LogonProcessName",
        "AuthenticationPackageName",
        "WorkstationName",
        "LogonGuid",
        "TransmittedServices",
        "LmPackageName",
        "KeyLength",
        "ProcessId",
        "ProcessName",
        "IpAddress",
        "IpPort",
        "ImpersonationLevel",
        "RestrictedAdminMode",
        "TargetOutboundUserName",
        "TargetOutboundDomainName",
        "VirtualAccount",
        "TargetLinkedLogonId",
        "ElevatedToken",
    ),
    4625: (
        *_SUBJECT,
        "TargetUserSid",
        "TargetUserName",
        "TargetDomainName",
        "Status",
        "FailureReason",
        "SubStatus",
        "LogonType",
        "LogonProcessName",
        "AuthenticationPackageName",
        "WorkstationName",
        "TransmittedServices",
        "LmPackageName",
        "KeyLength",
        "ProcessId",
        "ProcessName",
        "IpAddress",
        "IpPort",
    ),
    4634: (
        "TargetUserSid",
        "TargetUserName",
        "TargetDomainName",
        "TargetLogonId",
        "LogonType",
    ),
    4647: ("TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId"),
    4648: (
        *_SUBJECT,
        "LogonGuid",
        "TargetUserName",
        "TargetDomainName",
        "TargetLogonGuid",
        "TargetServerName",
        "TargetInfo",
        "ProcessId",
        "ProcessName",
        "IpAddress",
        "IpPort",
    ),
    4663: (
        *_SUBJECT,
        "ObjectServer",
        "ObjectType",
        "ObjectName",
        "HandleId",
        "AccessList",
        "AccessMask",
        "ProcessId",
        "ProcessName",
        "ResourceAttributes",
    ),
    4672: (*_SUBJECT, "PrivilegeList"),
    4688: (
        *_SUBJECT,
        "NewProcessId",
        "NewProcessName",
        "TokenElevationType",
        "ProcessId",
        "CommandLine",
        "TargetUserSid",
        "TargetUserName",
        "TargetDomainName",
        "TargetLogonId",
        "ParentProcessName",
        "MandatoryLabel",
    ),
    4698: (
        *_SUBJECT,
        "TaskName",
        "TaskContent",
        "ClientProcessStartKey",
        "ClientProcessId",
        "ParentProcessId",
        "RpcCallClientLocality",
        "FQDN",
    ),
    4720: (
        "TargetUserName",
        "TargetDomainName",
        "TargetSid",
        *_SUBJECT,
        "PrivilegeList",
        "SamAccountName",
        "DisplayName",
        "UserPrincipalName",
        "HomeDirectory",
        "HomePath",
        "ScriptPath",
        "ProfilePath",
        "UserWorkstations",
        "PasswordLastSet",
        "AccountExpires",
        "PrimaryGroupId",
        "AllowedToDelegateTo",
        "OldUacValue",
        "NewUacValue",
        "UserAccountControl",
        "UserParameters",
        "SidHistory",
        "LogonHours",
    ),
    4722: _TARGET_ACCOUNT,
    4724: _TARGET_ACCOUNT,
    4725: _TARGET_ACCOUNT,
    4726: (*_TARGET_ACCOUNT, "PrivilegeList"),
    4728: ("MemberName", "MemberSid", *_TARGET_ACCOUNT, "PrivilegeList"),
    4740: _TARGET_ACCOUNT,
    4768: (
        "TargetUserName",
        "TargetDomainName",
        "TargetSid",
        "ServiceName",
        "ServiceSid",
        "TicketOptions",
        "Status",
        "TicketEncryptionType",
        "PreAuthType",
        "IpAddress",
        "IpPort",
        "CertIssuerName",
        "CertSerialNumber",
        "CertThumbprint",
    ),
    4769: (
        "TargetUserName",
        "TargetDomainName",
        "ServiceName",
        "ServiceSid",
        "TicketOptions",
        "TicketEncryptionType",
        "IpAddress",
        "IpPort",
        "Status",
        "LogonGuid",
        "TransmittedServices",
    ),
    4771: (
        "TargetUserName",
        "TargetSid",
        "ServiceName",
        "TicketOptions",
        "Status",
        "PreAuthType",
        "IpAddress",
        "IpPort",
        "CertIssuerName",
        "CertSerialNumber",
        "CertThumbprint",
    ),
    4776: ("PackageName", "TargetUserName", "Workstation", "Status"),
    1102: _SUBJECT,
}
FIELDS[4732] = FIELDS[4756] = FIELDS[4728]

# How each value Security events draw anew is drawn (for compiled shapes).
_DRAWS: dict[str, Callable[[random.Random], Any]] = {
    "TargetLogonId": lambda rng: f"0x{0x100000 + rng.getrandbits(24):x}",
    "IpPort": lambda rng: str(ephemeral_port(rng)),
    "LogonGuid": lambda rng: guid(rng, True),
    "NewProcessId": lambda rng: f"0x{windows_pid(rng):x}",
    "ProcessId": lambda rng: f"0x{windows_pid(rng):x}",
    "HandleId": lambda rng: f"0x{rng.getrandbits(12) * 4:x}",
}
_INT_FIELDS = frozenset({"LogonType", "KeyLength", "PreAuthType", "EventID"})
_PRIVILEGES = "\n\t\t\t".join(
    (
        "SeSecurityPrivilege",
        "SeBackupPrivilege",
        "SeRestorePrivilege",
        "SeTakeOwnershipPrivilege",
        "SeDebugPrivilege",
        "SeSystemEnvironmentPrivilege",
        "SeLoadDriverPrivilege",
        "SeImpersonatePrivilege",
        "SeDelegateSessionUserImpersonatePrivilege",
    )
)
_SERVICE_PRIVILEGES = (
    "SeAssignPrimaryTokenPrivilege\n\t\t\tSeTcbPrivilege\n\t\t\t"
    "SeSecurityPrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeLoadDriverPrivilege"
    "\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeDebugPrivilege"
    "\n\t\t\tSeAuditPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\t"
    "SeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"
)
_WELL_KNOWN = {
    "system": ("S-1-5-18", "NT AUTHORITY"),
    "local service": ("S-1-5-19", "NT AUTHORITY"),
    "network service": ("S-1-5-20", "NT AUTHORITY"),
    "anonymous logon": ("S-1-5-7", "NT AUTHORITY"),
    "-": (NULL_SID, "-"),
}
_BUILTIN_RIDS = {"administrator": 500, "guest": 501, "krbtgt": 502}
_GROUPS = {  # group -> (RID or builtin SID, domain)
    "Domain Admins": (512, None),
    "Domain Users": (513, None),
    "Enterprise Admins": (519, None),
    "Schema Admins": (518, None),
    "Backup Operators": ("S-1-5-32-551", "Builtin"),
    "Administrators": ("S-1-5-32-544", "Builtin"),
    "Remote Desktop Users": ("S-1-5-32-555", "Builtin"),
}
_LOGON_STYLE = {  # LogonType -> (LogonProcessName, AuthenticationPackageName, image)
    2: ("User32 ", "Negotiate", "C:\\Windows\\System32\\svchost.exe"),
    4: ("Advapi  ", "Negotiate", "C:\\Windows\\System32\\svchost.exe"),
    5: ("Advapi  ", "Negotiate", "C:\\Windows\\System32\\services.exe"),
    7: ("User32 ", "Negotiate", "C:\\Windows\\System32\\svchost.exe"),
    8: ("Advapi  ", "Negotiate", "C:\\Windows\\System32\\inetsrv\\w3wp.exe"),
    9: ("seclogo", "Negotiate", "C:\\Windows\\System32\\svchost.exe"),
    10: ("User32 ", "Negotiate", "C:\\Windows\\System32\\svchost.exe"),
    11: ("User32 ", "Negotiate", "C:\\Windows\\System32\\svchost.exe"),
}


def principal(org: Organisation, name: str) -> tuple[str, str, str]:
    """(sAMAccountName, SID, domain) for an account name, completed from the org.

    Accepts ``sam``, ``DOMAIN\\sam`` and ``sam@domain``; computer accounts end in
    ``$``; unknown names keep the NULL SID, as Windows writes for unknown accounts.
    """

    def make() -> tuple[str, str, str]:
        sam = name.rpartition("\\")[2].split("@", 1)[0]
        key = sam.lower()
        if key in _WELL_KNOWN:
            sid, domain = _WELL_KNOWN[key]
            return sam, sid, domain
        if key in _BUILTIN_RIDS:
            return sam, f"{org.sid_prefix}-{_BUILTIN_RIDS[key]}", org.netbios
        if key.endswith("$") and org.has_host(key[:-1]):
            host = org.host(key[:-1])
            return host.name.upper() + "$", host.sid or NULL_SID, org.netbios
        for user in org.users:
            if user.sam.lower() == key:
                return user.sam, user.sid, org.netbios
        for account in org.service_accounts:
            if account.sam.lower() == key:
                return account.sam, account.sid, org.netbios
        return sam, NULL_SID, org.netbios

    return org.memo(("principal", name.lower()), make)


class WindowsSecuritySensor(WindowsSensor):
    """The Security channel; kinds are EventIDs (``default`` reads ``EventID``)."""

    id = "windows_security"
    provider = "Microsoft-Windows-Security-Auditing"
    provider_guid = "54849625-5478-4994-A5BA-3E3B0328C30D"
    channel = "Security"
    kinds: ClassVar[dict[str, Logsource]] = {
        "default": SECURITY,
        **{str(eid): SECURITY for eid in FIELDS},
        "4688": PROCESS_CREATION,
    }
    default_kind = "default"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        "default": frozenset({"EventID"}).union(*FIELDS.values()),
        **{str(eid): frozenset({"EventID", *names}) for eid, names in FIELDS.items()},
    }

    def __init__(self) -> None:
        super().__init__()
        self._specs: dict[int, EventSpec] = {
            eid: EventSpec(eid, version, task, SECURITY, level=0, keywords=keywords)
            for eid, (version, task, keywords) in _SYSTEM.items()
        }
        self._specs[4688] = EventSpec(
            4688, 2, 13312, PROCESS_CREATION, level=0, keywords=SUCCESS
        )
        shared = dict.fromkeys((4722, 4724, 4725, 4726, 4740), self._account_change)
        shared |= {4732: self._e4728, 4756: self._e4728}
        self._fillers: dict[int, Callable[..., dict[str, Any]]] = {
            eid: shared.get(eid) or getattr(self, f"_e{eid}")
            for eid in FIELDS
            if eid != 1102
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
        values = coerce_ints(values, _INT_FIELDS)
        event_id = values.get("EventID")
        if event_id is None and kind not in ("default", ""):
            event_id = int(kind) if kind.isdigit() else None
        if event_id is None:
            raise SensorInputError(
                "windows_security needs an EventID (in fields, or as the kind)"
            )
        if event_id not in FIELDS:
            known = ", ".join(str(e) for e in sorted(FIELDS))
            raise SensorInputError(
                f"windows_security has no EventID {event_id}; known: {known}"
            )
        host = resolve_host(self.id, host, values, ctx)
        info = context_host(ctx, host)
        data_values, overrides = split_values(values)
        if event_id == 1102:
            return self._cleared(uid, ts, host, info, data_values, ctx, overrides)
        data = self._fillers[event_id](data_values, info, ts, ctx, event_id)
        if not data_values.keys() <= data.keys():
            for k, v in data_values.items():
                data.setdefault(k, v)
        return self.windows_event(
            uid=uid,
            ts=ts,
            host=host,
            spec=self._specs[event_id],
            data=data,
            ctx=ctx,
            security_sid=None,
            process_id=info.lsass_pid,
            overrides=overrides,
        )

    # --- compiled shapes (the noise generator's fast path) ----------------------

    #: every Security shape holds per-day values (session logon ids)
    daily_kinds: ClassVar[frozenset[str]] = frozenset({"default"})

    def compile(
        self,
        kind: str,
        host: Host,
        values: dict[str, Any],
        org: Organisation,
        ts: float,
    ) -> WindowsRecipe | None:
        """A recipe for events of this shape on this host, valid for ``ts``'s day.

        The shape is filled three times with different random draws: what differs
        is what each event draws anew, and must be a value this sensor knows how to
        draw (ports, logon ids, GUIDs, process and handle ids); otherwise None.
        """
        values = coerce_ints(values, _INT_FIELDS)
        event_id = values.get("EventID")
        if event_id not in FIELDS or event_id == 1102 or kind not in ("default", ""):
            return None
        if values.keys() & SYSTEM_OVERRIDES:
            return None
        data_values, _ = split_values(values)
        fills = []
        for seed in (1, 2, 3):
            ctx = SensorContext(org, random.Random(seed))
            info = context_host(ctx, host)
            data = self._fillers[event_id](data_values, info, ts, ctx, event_id)
            if not data_values.keys() <= data.keys():
                for k, v in data_values.items():
                    data.setdefault(k, v)
            fills.append(data)
        first = fills[0]
        keys = tuple(k for k in first if any(f[k] != first[k] for f in fills[1:]))
        draws = [_DRAWS.get(k) for k in keys]
        if any(d is None for d in draws):
            return None

        def compute(ctx: SensorContext, ts: float) -> tuple[Any, ...]:
            rng = ctx.rng
            return tuple(draw(rng) for draw in draws)  # type: ignore[misc]

        return WindowsRecipe(
            self,
            host,
            self._specs[event_id],
            first,
            keys,
            compute,
            None,
            info.lsass_pid,
        )

    # --- helpers ---------------------------------------------------------

    @staticmethod
    def _subject(
        v: dict[str, Any],
        info: HostInfo,
        ctx: SensorContext,
        ts: float,
        default: str = "machine",
    ) -> tuple[str, str, str, str]:
        """SubjectUserSid, SubjectUserName, SubjectDomainName, SubjectLogonId."""
        org = ctx.org
        name = v.get("SubjectUserName")
        if not name:
            if default == "machine":
                return ("S-1-5-18", info.host.name.upper() + "$", org.netbios, "0x3e7")
            admin = org.admins[0] if org.admins else org.users[0]
            name = admin.sam
        sam, sid, domain = principal(org, str(name))
        if sid == "S-1-5-18":
            logon = SYSTEM_LOGON_ID
        else:
            logon = session_logon_id(org.seed, info.computer, sam, int(ts // 86400))
        return (
            v.get("SubjectUserSid") or sid,
            sam,
            v.get("SubjectDomainName") or domain,
            v.get("SubjectLogonId") or f"0x{logon:x}",
        )

    @staticmethod
    def _target(
        v: dict[str, Any],
        ctx: SensorContext,
        info: HostInfo,
        key: str = "TargetUserName",
    ) -> tuple[str, str, str]:
        name = v.get(key)
        if not name:
            name = info.owner.sam if info.owner else "Administrator"
        return principal(ctx.org, str(name))

    # --- logon and logoff --------------------------------------------------

    def _e4624(self, v, info: HostInfo, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        rng = ctx.rng
        org = ctx.org
        logon_type = int(g("LogonType", 3))
        sam, sid, domain = self._target(v, ctx, info)
        process_name, auth, image = _LOGON_STYLE.get(logon_type, ("", "", "-"))
        kerberos = False
        if logon_type == 3:
            kerberos = (g("AuthenticationPackageName") or "Kerberos") == "Kerberos"
            process_name, auth = (
                ("Kerberos", "Kerberos") if kerberos else ("NtLmSsp ", "NTLM")
            )
            image = "-"
        if logon_type in (2, 7, 10, 11):
            target_logon = session_logon_id(
                org.seed, info.computer, sam, int(ts // 86400)
            )
        elif sid == "S-1-5-18":
            target_logon = SYSTEM_LOGON_ID
        else:
            target_logon = 0x100000 + rng.getrandbits(24)
        if logon_type in (2, 7, 11):
            ip, port = "127.0.0.1", "0"
        elif logon_type in (4, 5):
            ip, port = "-", "-"
        else:
            ip = g("IpAddress") or _peer_ip(ctx, info)
            port = str(g("IpPort") or (ephemeral_port(rng) if logon_type == 3 else 0))
        elevated = sid == "S-1-5-18" or _is_admin(org, sam)
        subject = (
            self._subject(v, info, ctx, ts)
            if logon_type != 3
            else (NULL_SID, "-", "-", "0x0")
        )
        workstation = g("WorkstationName") or (
            "-" if kerberos else _workstation_of(org, ip, info)
        )
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "TargetUserSid": g("TargetUserSid") or sid,
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or domain,
            "TargetLogonId": g("TargetLogonId") or f"0x{target_logon:x}",
            "LogonType": logon_type,
            "LogonProcessName": g("LogonProcessName") or process_name,
            "AuthenticationPackageName": g("AuthenticationPackageName") or auth,
            "WorkstationName": workstation,
            "LogonGuid": g("LogonGuid") or (guid(rng, True) if kerberos else ZERO_GUID),
            "TransmittedServices": g("TransmittedServices") or "-",
            "LmPackageName": g("LmPackageName")
            or ("NTLM V2" if auth == "NTLM" else "-"),
            "KeyLength": g("KeyLength", 128 if auth == "NTLM" else 0),
            "ProcessId": g("ProcessId")
            or ("0x0" if image == "-" else f"0x{info.lsass_pid + 96:x}"),
            "ProcessName": g("ProcessName") or image,
            "IpAddress": ip,
            "IpPort": port,
            "ImpersonationLevel": g("ImpersonationLevel") or "%%1833",
            "RestrictedAdminMode": g("RestrictedAdminMode")
            or ("%%1843" if logon_type == 10 else "-"),
            "TargetOutboundUserName": g("TargetOutboundUserName") or "-",
            "TargetOutboundDomainName": g("TargetOutboundDomainName") or "-",
            "VirtualAccount": g("VirtualAccount") or "%%1843",
            "TargetLinkedLogonId": g("TargetLinkedLogonId") or "0x0",
            "ElevatedToken": g("ElevatedToken") or ("%%1842" if elevated else "%%1843"),
        }

    def _e4625(self, v, info: HostInfo, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        rng = ctx.rng
        logon_type = int(g("LogonType", 3))
        sam, sid, domain = self._target(v, ctx, info)
        if logon_type in (2, 7, 11):
            subject = self._subject(v, info, ctx, ts)
            process_name, auth, image = _LOGON_STYLE[logon_type]
            ip, port, process_id = "127.0.0.1", "0", f"0x{info.lsass_pid + 96:x}"
        else:
            subject = (NULL_SID, "-", "-", "0x0")
            process_name, auth, image = "NtLmSsp ", "NTLM", "-"
            ip = g("IpAddress") or _peer_ip(ctx, info)
            port, process_id = str(g("IpPort") or ephemeral_port(rng)), "0x0"
        sub_status = g("SubStatus") or (
            "0xc000006a" if sid != NULL_SID else "0xc0000064"
        )
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "TargetUserSid": g("TargetUserSid") or NULL_SID,
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or domain,
            "Status": g("Status")
            or (
                "0xc000006d"
                if sub_status in ("0xc000006a", "0xc0000064")
                else sub_status
            ),
            "FailureReason": g("FailureReason") or "%%2313",
            "SubStatus": sub_status,
            "LogonType": logon_type,
            "LogonProcessName": g("LogonProcessName") or process_name,
            "AuthenticationPackageName": g("AuthenticationPackageName") or auth,
            "WorkstationName": g("WorkstationName")
            or _workstation_of(ctx.org, ip, info),
            "TransmittedServices": "-",
            "LmPackageName": "-",
            "KeyLength": g("KeyLength", 0),
            "ProcessId": g("ProcessId") or process_id,
            "ProcessName": g("ProcessName") or image,
            "IpAddress": ip,
            "IpPort": port,
        }

    def _e4634(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        sam, sid, domain = self._target(v, ctx, info)
        logon_type = int(g("LogonType", 3))
        if logon_type in (2, 7, 10, 11):
            logon = session_logon_id(ctx.org.seed, info.computer, sam, int(ts // 86400))
        else:
            logon = 0x100000 + ctx.rng.getrandbits(24)
        return {
            "TargetUserSid": g("TargetUserSid") or sid,
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or domain,
            "TargetLogonId": g("TargetLogonId") or f"0x{logon:x}",
            "LogonType": logon_type,
        }

    def _e4647(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        data = self._e4634({**v, "LogonType": 2}, info, ts, ctx, eid)
        del data["LogonType"]
        return data

    def _e4648(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        subject = self._subject(v, info, ctx, ts, default="owner")
        sam, _, domain = self._target(v, ctx, info)
        server = g("TargetServerName") or "localhost"
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "LogonGuid": g("LogonGuid") or ZERO_GUID,
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or domain,
            "TargetLogonGuid": g("TargetLogonGuid") or ZERO_GUID,
            "TargetServerName": server,
            "TargetInfo": g("TargetInfo") or server,
            "ProcessId": g("ProcessId") or f"0x{info.lsass_pid + 96:x}",
            "ProcessName": g("ProcessName") or "C:\\Windows\\System32\\svchost.exe",
            "IpAddress": g("IpAddress") or "-",
            "IpPort": str(g("IpPort") or "-"),
        }

    def _e4663(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        subject = self._subject(v, info, ctx, ts, default="owner")
        image = g("ProcessName") or "C:\\Windows\\explorer.exe"
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "ObjectServer": g("ObjectServer") or "Security",
            "ObjectType": g("ObjectType") or "File",
            "ObjectName": g("ObjectName") or "C:\\Shares\\Public\\readme.txt",
            "HandleId": g("HandleId") or f"0x{ctx.rng.getrandbits(12) * 4:x}",
            "AccessList": g("AccessList") or "%%4416\n\t\t\t\t",
            "AccessMask": g("AccessMask") or "0x1",
            "ProcessId": g("ProcessId") or f"0x{windows_pid(ctx.rng):x}",
            "ProcessName": image,
            "ResourceAttributes": g("ResourceAttributes") or "S:AI",
        }

    def _e4672(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        if g("SubjectUserName"):
            subject = self._subject(v, info, ctx, ts)
            privileges = _PRIVILEGES
        else:
            subject = self._subject(v, info, ctx, ts)
            privileges = _SERVICE_PRIVILEGES
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "PrivilegeList": g("PrivilegeList") or privileges,
        }

    def _e4688(self, v, info: HostInfo, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        image = g("NewProcessName") or "C:\\Windows\\System32\\cmd.exe"
        parent = g("ParentProcessName") or (
            "C:\\Windows\\System32\\services.exe"
            if not info.owner
            else "C:\\Windows\\explorer.exe"
        )
        subject = self._subject(
            v, info, ctx, ts, default="owner" if info.owner else "machine"
        )
        system = subject[0] == "S-1-5-18"
        command_line = g("CommandLine")
        if command_line is None:
            command_line = f'"{image}"' if " " in image else image
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "NewProcessId": g("NewProcessId") or f"0x{windows_pid(ctx.rng):x}",
            "NewProcessName": image,
            "TokenElevationType": g("TokenElevationType")
            or ("%%1936" if system else "%%1938"),
            "ProcessId": g("ProcessId") or f"0x{windows_pid(ctx.rng):x}",
            "CommandLine": command_line,
            "TargetUserSid": g("TargetUserSid") or NULL_SID,
            "TargetUserName": g("TargetUserName") or "-",
            "TargetDomainName": g("TargetDomainName") or "-",
            "TargetLogonId": g("TargetLogonId") or "0x0",
            "ParentProcessName": parent,
            "MandatoryLabel": g("MandatoryLabel")
            or ("S-1-16-16384" if system else "S-1-16-8192"),
        }

    def _e4698(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        subject = self._subject(v, info, ctx, ts, default="owner")
        name = g("TaskName") or "\\Maintenance\\Cleanup"
        command = g("Command") or "C:\\Windows\\System32\\cleanmgr.exe"
        content = g("TaskContent") or (
            '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" '
            'xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n'
            f"  <RegistrationInfo>\r\n    <Author>{subject[2]}\\{subject[1]}</Author>"
            f"\r\n    <URI>{name}</URI>\r\n  </RegistrationInfo>\r\n  <Actions "
            f'Context="Author">\r\n    <Exec>\r\n      <Command>{command}</Command>'
            "\r\n    </Exec>\r\n  </Actions>\r\n</Task>"
        )
        return {
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "TaskName": name,
            "TaskContent": content,
            "ClientProcessStartKey": str(
                g("ClientProcessStartKey")
                or 2_251_799_813_685_000 + ctx.rng.getrandbits(10)
            ),
            "ClientProcessId": str(g("ClientProcessId") or windows_pid(ctx.rng)),
            "ParentProcessId": str(g("ParentProcessId") or windows_pid(ctx.rng)),
            "RpcCallClientLocality": "0",
            "FQDN": info.computer,
        }

    # --- account management --------------------------------------------------

    def _account_change(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        """4722 enabled, 4724 reset, 4725 disabled, 4726 deleted, 4740 locked out."""
        g = v.get
        sam, sid, domain = self._target(v, ctx, info)
        subject = self._subject(v, info, ctx, ts, default="admin")
        data = {
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or domain,
            "TargetSid": g("TargetSid") or sid,
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
        }
        if "PrivilegeList" in v or eid == 4726:
            data["PrivilegeList"] = g("PrivilegeList") or "-"
        return data

    def _e4720(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        org = ctx.org
        sam, sid, domain = self._target(v, ctx, info)
        if sid == NULL_SID:  # a new account gets the next free RID
            sid = f"{org.sid_prefix}-{5000 + ctx.rng.getrandbits(12)}"
        subject = self._subject(v, info, ctx, ts, default="admin")
        return {
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or domain,
            "TargetSid": g("TargetSid") or sid,
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "PrivilegeList": "-",
            "SamAccountName": g("SamAccountName") or sam,
            "DisplayName": g("DisplayName") or sam,
            "UserPrincipalName": g("UserPrincipalName") or f"{sam}@{org.email_domain}",
            "HomeDirectory": "%%1793",
            "HomePath": "%%1793",
            "ScriptPath": "%%1793",
            "ProfilePath": "%%1793",
            "UserWorkstations": "%%1793",
            "PasswordLastSet": "%%1794",
            "AccountExpires": "%%1794",
            "PrimaryGroupId": "513",
            "AllowedToDelegateTo": "-",
            "OldUacValue": "0x0",
            "NewUacValue": "0x15",
            "UserAccountControl": g("UserAccountControl")
            or "\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084",
            "UserParameters": "%%1793",
            "SidHistory": "-",
            "LogonHours": "%%1797",
        }

    def _e4728(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        org = ctx.org
        group = g("TargetUserName") or (
            "Administrators" if eid == 4732 else "Domain Admins"
        )
        rid, group_domain = _GROUPS.get(group, (1100 + ctx.rng.getrandbits(8), None))
        group_sid = rid if isinstance(rid, str) else f"{org.sid_prefix}-{rid}"
        member = g("MemberName") or (info.owner.sam if info.owner else "Administrator")
        member_sam, member_sid, _ = principal(
            org, str(member).split(",")[0].removeprefix("CN=")
        )
        member_dn = member if str(member).startswith("CN=") else _dn(org, member_sam)
        subject = self._subject(v, info, ctx, ts, default="admin")
        return {
            "MemberName": member_dn,
            "MemberSid": g("MemberSid") or member_sid,
            "TargetUserName": group,
            "TargetDomainName": g("TargetDomainName") or group_domain or org.netbios,
            "TargetSid": g("TargetSid") or group_sid,
            "SubjectUserSid": subject[0],
            "SubjectUserName": subject[1],
            "SubjectDomainName": subject[2],
            "SubjectLogonId": subject[3],
            "PrivilegeList": "-",
        }

    # --- Kerberos and NTLM (domain controllers) -----------------------------

    def _e4768(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        sam, sid, _ = self._target(v, ctx, info)
        org = ctx.org
        status = g("Status") or "0x0"
        return {
            "TargetUserName": sam,
            "TargetDomainName": g("TargetDomainName") or org.netbios,
            "TargetSid": g("TargetSid") or (sid if status == "0x0" else NULL_SID),
            "ServiceName": g("ServiceName") or "krbtgt",
            "ServiceSid": g("ServiceSid") or f"{org.sid_prefix}-502",
            "TicketOptions": g("TicketOptions") or "0x40810010",
            "Status": status,
            "TicketEncryptionType": g("TicketEncryptionType") or "0x12",
            "PreAuthType": str(g("PreAuthType", 2)),
            "IpAddress": _kerberos_ip(g("IpAddress") or _peer_ip(ctx, info)),
            "IpPort": str(g("IpPort") or ephemeral_port(ctx.rng)),
            "CertIssuerName": g("CertIssuerName") or "",
            "CertSerialNumber": g("CertSerialNumber") or "",
            "CertThumbprint": g("CertThumbprint") or "",
        }

    def _e4769(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        org = ctx.org
        sam, _, _ = self._target(v, ctx, info)
        service = g("ServiceName")
        if not service:
            host = ctx.rng.choice(org.hosts_where(kind="server") or list(org.hosts))
            service = host.name.upper() + "$"
        _, service_sid, _ = principal(org, str(service))
        return {
            "TargetUserName": f"{sam}@{org.dns_domain.upper()}",
            "TargetDomainName": g("TargetDomainName") or org.dns_domain.upper(),
            "ServiceName": service,
            "ServiceSid": g("ServiceSid") or service_sid,
            "TicketOptions": g("TicketOptions") or "0x40810000",
            "TicketEncryptionType": g("TicketEncryptionType") or "0x12",
            "IpAddress": _kerberos_ip(g("IpAddress") or _peer_ip(ctx, info)),
            "IpPort": str(g("IpPort") or ephemeral_port(ctx.rng)),
            "Status": g("Status") or "0x0",
            "LogonGuid": g("LogonGuid") or guid(ctx.rng, True),
            "TransmittedServices": g("TransmittedServices") or "-",
        }

    def _e4771(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        sam, sid, _ = self._target(v, ctx, info)
        return {
            "TargetUserName": sam,
            "TargetSid": g("TargetSid") or sid,
            "ServiceName": g("ServiceName") or f"krbtgt/{ctx.org.dns_domain.upper()}",
            "TicketOptions": g("TicketOptions") or "0x40810010",
            "Status": g("Status") or "0x18",
            "PreAuthType": str(g("PreAuthType", 2)),
            "IpAddress": _kerberos_ip(g("IpAddress") or _peer_ip(ctx, info)),
            "IpPort": str(g("IpPort") or ephemeral_port(ctx.rng)),
            "CertIssuerName": "",
            "CertSerialNumber": "",
            "CertThumbprint": "",
        }

    def _e4776(self, v, info, ts, ctx, eid=0) -> dict[str, Any]:
        g = v.get
        sam, _, _ = self._target(v, ctx, info)
        return {
            "PackageName": g("PackageName") or "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
            "TargetUserName": sam,
            "Workstation": g("Workstation") or _workstation_of(ctx.org, "-", info),
            "Status": g("Status") or "0x0",
        }

    def _cleared(self, uid, ts, host, info, v, ctx, overrides) -> Event:
        subject = self._subject(v, info, ctx, ts, default="admin")
        data = dict(zip(_SUBJECT, subject, strict=True))
        spec = _CLEARED
        event = _EVENTLOG.windows_event(
            uid=uid,
            ts=ts,
            host=host,
            spec=spec,
            data=data,
            ctx=ctx,
            security_sid=None,
            process_id=info.service_pid,
            overrides=overrides,
            data_key="LogFileCleared",
        )
        event.sensor = self.id
        return event


_CLEARED = EventSpec(1102, 1, 104, SECURITY, level=4, keywords="0x4020000000000000")


class _EventlogProvider(WindowsSensor):
    """1102 is written to the Security channel by the Eventlog service itself."""

    id = "windows_security"
    provider = "Microsoft-Windows-Eventlog"
    provider_guid = "FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148"
    channel = "Security"
    kinds: ClassVar[dict[str, Logsource]] = {"default": SECURITY}
    fields: ClassVar[dict[str, frozenset[str]]] = {"default": frozenset(_SUBJECT)}


_EVENTLOG = _EventlogProvider()


def _peer_ip(ctx: SensorContext, info: HostInfo) -> str:
    """A plausible internal client address for network logons to this host."""
    hosts = ctx.org.hosts
    peer = hosts[ctx.rng.getrandbits(16) % len(hosts)]
    return peer.ip if peer.name != info.host.name else "127.0.0.1"


def _kerberos_ip(ip: str) -> str:
    return ip if ":" in ip or ip == "-" else f"::ffff:{ip}"


def _workstation_of(org: Organisation, ip: str, info: HostInfo) -> str:
    def make() -> dict[str, str]:
        return {h.ip: h.name.upper() for h in org.hosts}

    names = org.memo("hosts_by_ip", make)
    return names.get(ip.removeprefix("::ffff:"), info.host.name.upper())


def _is_admin(org: Organisation, sam: str) -> bool:
    def make() -> frozenset[str]:
        return frozenset(u.sam.lower() for u in org.admins) | {"administrator"}

    return sam.lower() in org.memo("admin_sams", make)


def _dn(org: Organisation, sam: str) -> str:
    parts = ",".join(f"DC={p}" for p in org.dns_domain.split("."))
    for user in org.users:
        if user.sam == sam:
            return f"CN={user.name},OU={user.department},OU=Staff,{parts}"
    return f"CN={sam},CN=Users,{parts}"
