"""Exercise-safety scans of scenario text: real addresses, real domains, false alarms.

A scenario may only name documentation or private addresses and reserved domains
(:mod:`simulator.reserved`), and no text may claim "this is not a drill". Finding
domains in free text is heuristic: a dotted name counts as a domain when it is the host
of a URL, the part after ``@`` in an address, the value of a field whose name says it
holds a host or domain, or when it ends in a common public top-level domain. File
names such as ``invoice.docm`` or ``WINWORD.EXE`` are therefore not mistaken for
domains, nor are cloud service identifiers in the fields that hold them (CloudTrail's
``eventSource: iam.amazonaws.com``).
"""

from __future__ import annotations

import ipaddress
import re

from simulator.reserved import is_documentation_ip, is_reserved_domain, is_safe_ip

_NOT_A_DRILL = re.compile(r"this\s+is\s*(?:not|n['’]t)\s+an?\s+drill", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}\.)+[A-Za-z][A-Za-z0-9-]{{0,62}}"
_URL_HOST = re.compile(rf"[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/\s]*@)?({_DOMAIN})")
_EMAIL_DOMAIN = re.compile(rf"[A-Za-z0-9._%+-]@({_DOMAIN})")
_DOTTED = re.compile(rf"(?<![\w.@/-])({_DOMAIN})(?![\w-])")
_TEMPLATE_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# Field names whose whole value is a host or domain name.
_HOST_FIELD = re.compile(
    r"host|domain|fqdn|query|sni|server_?name|sender|recipient|url|referr?er|"
    r"destination$|dst$",
    re.IGNORECASE,
)
# Public TLDs common in real traffic; chosen not to collide with file extensions
# or with words written after a dot (no .zip, .py, .sh, .md, .id, .in, .it, .at).
PUBLIC_TLDS = frozenset((
    "com", "net", "org", "io", "info", "biz", "ru", "cn", "xyz", "top", "online",
    "site", "club", "shop", "app", "dev", "cloud", "tk", "ml", "ga", "cf", "gq", "pw",
    "cc", "ws", "su", "ua", "de", "uk", "fr", "nl", "es", "br", "jp", "kr", "au",
    "ca", "eu", "ch", "se", "fi", "dk", "cz", "ro", "hu", "tr", "ir", "kp", "vn",
    "th", "sg", "hk", "tw", "gov", "edu", "mil",
))  # fmt: skip


# Fields whose value names a cloud *service* (not a network destination), as the
# provider writes it: CloudTrail's eventSource "iam.amazonaws.com" is what Sigma
# rules select on, and no packet ever goes to it.
SERVICE_ID_FIELDS = {
    "eventSource": re.compile(r"^[a-z0-9-]+\.amazonaws\.com$"),
    "invokedBy": re.compile(r"^[a-z0-9-]+\.amazonaws\.com$"),
}


def claims_real_emergency(text: str) -> bool:
    """True when ``text`` says "this is not a drill" in any spelling or case."""
    return bool(_NOT_A_DRILL.search(text))


def is_attacker_ip(value: str) -> bool:
    """Attacker infrastructure must be a documentation address (RFC 5737, 3849)."""
    return is_documentation_ip(value.strip())


def is_attacker_domain(value: str) -> bool:
    """Attacker infrastructure must be a reserved name (RFC 2606 / RFC 6761)."""
    return is_reserved_domain(value)


def unsafe_literals(text: str, field_name: str = "") -> list[str]:
    """Messages for each address or domain in ``text`` outside the reserved ranges."""
    service_id = SERVICE_ID_FIELDS.get(field_name)
    if service_id is not None and service_id.match(text):
        return []
    messages = []
    for address in sorted(_addresses(text)):
        if not is_safe_ip(address):
            messages.append(
                f"'{address}' is a real, routable address; use a documentation "
                "address (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, "
                "2001:db8::/32) or a role such as '{{ c2 }}'"
            )
    for domain in sorted(_domains(text, field_name)):
        if not is_reserved_domain(domain):
            messages.append(
                f"'{domain}' is a real domain; use a reserved name (under .test, "
                ".example or example.com) or a role such as '{{ c2_domain }}'"
            )
    return messages


def _addresses(text: str) -> set[str]:
    found = set()
    for match in _IPV4.finditer(text):
        try:
            found.add(str(ipaddress.IPv4Address(match.group(0))))
        except ValueError:
            continue  # version numbers such as 10.0.19041.1 or 300.1.1.1
    for match in _IPV6.finditer(text):
        candidate = match.group(0)
        if candidate.count(":") < 2 or not any(c.isalnum() for c in candidate):
            continue
        try:
            found.add(str(ipaddress.IPv6Address(candidate)))
        except ValueError:
            continue  # times and MAC addresses
    return found


def _domains(text: str, field_name: str) -> set[str]:
    found = {m.group(1).lower() for m in _URL_HOST.finditer(text)}
    found |= {m.group(1).lower() for m in _EMAIL_DOMAIN.finditer(text)}
    literal = _TEMPLATE_BLOCK.sub(" ", text)
    by_field = bool(field_name) and bool(_HOST_FIELD.search(field_name))
    for match in _DOTTED.finditer(literal):
        name = match.group(1).lower()
        if by_field or name.rsplit(".", 1)[-1] in PUBLIC_TLDS:
            found.add(name)
    return {d for d in found if not _looks_numeric(d)}


def _looks_numeric(name: str) -> bool:
    return name.replace(".", "").isdigit()
