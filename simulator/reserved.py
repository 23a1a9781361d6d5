"""Exercise safety for synthetic data: which addresses and domains may appear.

Synthetic organisations use private ranges inside; anything "external" is in the
documentation ranges (RFC 5737, 2001:db8::/32) and domains are RFC 2606 / RFC 6761
names. Benign noise may also name a short curated list of well-known public service
domains (updates, sign-in, CDN) so that the baseline looks real; attacker
infrastructure never may.
"""

from __future__ import annotations

import ipaddress

DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
PRIVATE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)
# Also unroutable and harmless in logs: unspecified, broadcast, multicast.
SPECIAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/32", "255.255.255.255/32", "224.0.0.0/4", "ff00::/8", "::/128")
)

RESERVED_TLDS = ("test", "example", "invalid", "localhost", "local", "internal")
RESERVED_SECOND_LEVEL = ("example.com", "example.net", "example.org")

# Benign, well-known public service domains that noise may name for realism.
# Attacker roles can never draw from this list.
WELL_KNOWN_DOMAINS = (
    "windowsupdate.com",
    "update.microsoft.com",
    "login.microsoftonline.com",
    "outlook.office365.com",
    "officecdn.microsoft.com",
    "cdn.jsdelivr.net",
    "fonts.gstatic.com",
    "ocsp.digicert.com",
    "time.windows.com",
    "security.ubuntu.com",
    "s3.amazonaws.com",
    # AWS service endpoints as CloudTrail names them (eventSource, TLS host header).
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "ec2.amazonaws.com",
    "signin.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "cloudwatch.amazonaws.com",
    "logs.amazonaws.com",
    "kms.amazonaws.com",
)


def is_documentation_ip(value: str) -> bool:
    """True for RFC 5737 / 2001:db8::/32 addresses (the only allowed "external")."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(ip in net for net in DOCUMENTATION_NETS)


def is_safe_ip(value: str) -> bool:
    """True for documentation, private, loopback, link-local or special addresses."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(ip in net for net in DOCUMENTATION_NETS + PRIVATE_NETS + SPECIAL_NETS)


def is_reserved_domain(value: str) -> bool:
    """True for RFC 2606 / RFC 6761 names (``*.test``, ``example.com`` …)."""
    name = value.strip().rstrip(".").lower()
    if not name:
        return False
    if name.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return True
    return any(name == d or name.endswith("." + d) for d in RESERVED_SECOND_LEVEL)


def is_well_known_domain(value: str) -> bool:
    name = value.strip().rstrip(".").lower()
    return any(name == d or name.endswith("." + d) for d in WELL_KNOWN_DOMAINS)


def is_safe_domain(value: str, *, allow_well_known: bool = False) -> bool:
    """True when ``value`` may appear in synthetic data.

    ``allow_well_known`` is for benign noise only; scenario and attacker values must be
    reserved names.
    """
    if is_reserved_domain(value):
        return True
    return allow_well_known and is_well_known_domain(value)
