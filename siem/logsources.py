"""Sigma logsources: the taxonomy, Windows channels and EventIDs, rule applicability.

Every stored event carries one logsource triple (product, category, service). A rule
applies to an event when each key the rule sets is equal to the event's, with two
widenings: ``registry_event`` covers the four specific registry categories (Sysmon
12/13/14 are both ``registry_event`` and ``registry_set`` …), as SigmaHQ relies on;
and the per-daemon Linux services SigmaHQ names (``sshd``, ``sudo``, ``cron``) cover
the ``auth`` log those daemons write to (auth.log / secure).

Windows events are tagged the way SigmaHQ expects: the channel gives the service
(pySigma's own service -> channel table), the (service, EventID) pair gives the
category (Sysmon 1 -> process_creation, Security 4688 -> process_creation, PowerShell
4104 -> ps_script …).
"""

from __future__ import annotations

from typing import Final

from sigma.pipelines.common import windows_logsource_mapping

#: category a rule may name -> event categories it covers besides itself.
CATEGORY_COVERS: Final[dict[str, frozenset[str]]] = {
    "registry_event": frozenset(
        {"registry_add", "registry_delete", "registry_set", "registry_rename"}
    ),
}

#: service a rule may name -> event services whose lines it covers. sshd, sudo and
#: cron write their session and authentication lines to auth.log (``auth``).
SERVICE_COVERS: Final[dict[str, frozenset[str]]] = {
    "sshd": frozenset({"auth"}),
    "sudo": frozenset({"auth"}),
    "cron": frozenset({"auth"}),
}

#: Sysmon EventID -> Sigma category.
SYSMON_CATEGORIES: Final[dict[int, str]] = {
    1: "process_creation",
    2: "file_change",
    3: "network_connection",
    4: "sysmon_status",
    5: "process_termination",
    6: "driver_load",
    7: "image_load",
    8: "create_remote_thread",
    9: "raw_access_thread",
    10: "process_access",
    11: "file_event",
    # 12 is registry_add or registry_delete by EventType (see windows_logsource)
    13: "registry_set",
    14: "registry_rename",
    15: "create_stream_hash",
    16: "sysmon_status",
    17: "pipe_created",
    18: "pipe_created",
    19: "wmi_event",
    20: "wmi_event",
    21: "wmi_event",
    22: "dns_query",
    23: "file_delete",
    24: "clipboard_capture",
    25: "process_tampering",
    26: "file_delete",
    27: "file_block_executable",
    28: "file_block_shredding",
    29: "file_executable_detected",
    255: "sysmon_error",
}

#: (service, EventID) -> category for the non-Sysmon Windows channels.
WINDOWS_CATEGORIES: Final[dict[tuple[str, int], str]] = {
    ("security", 4688): "process_creation",
    ("powershell", 4103): "ps_module",
    ("powershell", 4104): "ps_script",
    ("powershell-classic", 400): "ps_classic_start",
    ("powershell-classic", 600): "ps_classic_provider_start",
    ("powershell-classic", 800): "ps_classic_script",
}


def _channel_services() -> dict[str, str]:
    out: dict[str, str] = {}
    for service, channels in windows_logsource_mapping.items():
        for channel in [channels] if isinstance(channels, str) else channels:
            # the first service listed for a channel is the current name
            out.setdefault(channel.lower(), service)
    return out


#: lower-cased Windows channel -> Sigma service.
CHANNEL_SERVICES: Final[dict[str, str]] = _channel_services()

#: The Sigma taxonomy values a rule may use, plus the logsources of the sandbox's own
#: sensors (anything else is an "unknown logsource": nothing here produces it).
KNOWN_PRODUCTS: Final[frozenset[str]] = frozenset(
    [
        "windows",
        "linux",
        "macos",
        "aws",
        "azure",
        "gcp",
        "m365",
        "okta",
        "onelogin",
        "cisco",
        "zeek",
        "kubernetes",
        "github",
        "bitbucket",
        "opencanary",
        "rpc_firewall",
        "fortigate",
        "jvm",
        "spring",
        "huawei",
        "juniper",
        "sql",
        "python",
        "velocity",
        "django",
        "nodejs",
        "ruby_on_rails",
        "apache",
        "nginx",
        "paloalto",
        "qualys",
        "google_workspace",
    ]
)
KNOWN_CATEGORIES: Final[frozenset[str]] = frozenset(
    {
        *SYSMON_CATEGORIES.values(),
        *WINDOWS_CATEGORIES.values(),
        *CATEGORY_COVERS,
        # the sandbox's own sensors outside the Sigma taxonomy
        "email",
        "edr",
        *(c for covered in CATEGORY_COVERS.values() for c in covered),
        *[
            "process_termination",
            "file_access",
            "file_rename",
            "file_block",
            "application",
            "antivirus",
            "database",
            "firewall",
            "proxy",
            "webserver",
            "dns",
            "network_connection",
            "process_creation",
            "file_event",
        ],
    }
)
KNOWN_SERVICES: Final[frozenset[str]] = frozenset(
    {
        *windows_logsource_mapping,
        *[
            "cloudtrail",
            "auditd",
            "audit",
            "auditlogs",
            "activitylogs",
            "riskdetection",
            "signinlogs",
            "okta",
            "gcp.audit",
            "aaa",
            "threat_management",
            "threat_detection",
            "event",
            "smb_files",
            "dns",
            "bgp",
            "http",
            "dce_rpc",
            "google_workspace.admin",
            "google_workspace.login",
            "pim",
            "onelogin.events",
            "apache",
            "syslog",
            "duo",
            "nginx",
            "ldp",
            "x509",
            "rdp",
            "kerberos",
            "guacamole",
            "clamav",
            "vsftpd",
            "cron",
            "sshd",
            "auth",
            "smbserver-connectivity",
            "exchange",
            "sudo",
            "iis-configuration",
            "ssh",
        ],
    }
)


def windows_logsource(
    channel: str, event_id: int | None, event_type: str | None = None
) -> tuple[str, str | None, str | None]:
    """(product, category, service) of a Windows event from its channel and EventID.

    ``event_type`` is Sysmon's ``EventType`` (``CreateKey``, ``DeleteValue`` …), which
    splits EventID 12 into registry_add and registry_delete.
    """
    service = CHANNEL_SERVICES.get(channel.lower())
    category: str | None = None
    if event_id is not None:
        if service == "sysmon":
            if event_id == 12:
                deleting = (event_type or "").lower().startswith("delete")
                category = "registry_delete" if deleting else "registry_add"
            else:
                category = SYSMON_CATEGORIES.get(event_id)
        elif service is not None:
            category = WINDOWS_CATEGORIES.get((service, event_id))
    return "windows", category, service


def covers(rule_category: str, event_category: str) -> bool:
    """Does a rule written for ``rule_category`` see events of ``event_category``?"""
    return rule_category == event_category or event_category in CATEGORY_COVERS.get(
        rule_category, frozenset()
    )


def applies(
    rule: tuple[str | None, str | None, str | None],
    event: tuple[str, str, str],
) -> bool:
    """Does a rule logsource (None = any) apply to an event's stored triple?

    Stored triples use ``''`` for an absent part; a rule key set to a value never
    matches ``''``.
    """
    product, category, service = rule
    e_product, e_category, e_service = event
    if product is not None and product != e_product:
        return False
    if category is not None and not covers(category, e_category):
        return False
    return (
        service is None
        or service == e_service
        or e_service in SERVICE_COVERS.get(service, frozenset())
    )


def unknown_parts(
    product: str | None, category: str | None, service: str | None
) -> list[str]:
    """Logsource values outside the taxonomy, as ``key=value`` strings."""
    unknown = []
    if product is not None and product not in KNOWN_PRODUCTS:
        unknown.append(f"product={product}")
    if category is not None and category not in KNOWN_CATEGORIES:
        unknown.append(f"category={category}")
    if service is not None and service not in KNOWN_SERVICES:
        unknown.append(f"service={service}")
    return unknown
