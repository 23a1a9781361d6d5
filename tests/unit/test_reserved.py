"""Safety: everything the organisation and its noise name is private or reserved.

Ten thousand and more addresses and domain names drawn from the organisation and
minutes of its noise (fields and raw lines) are all private, documentation-range,
reserved names or on the curated list of well-known services; attacker helpers only
ever return reserved values.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest

from simulator import reserved
from simulator.environment import Organisation
from simulator.noise import noise_stream

MONDAY_9_UTC = 1_772_442_000
IP_FIELDS = {
    "SourceIp",
    "DestinationIp",
    "IpAddress",
    "src_ip",
    "dst_ip",
    "c-ip",
    "sourceIPAddress",
    "IPAddress",
    "sender_ip",
    "ip",
}
DOMAIN_FIELDS = {
    "QueryName",
    "query",
    "cs-host",
    "r-dns",
    "DestinationHostname",
    "SourceHostname",
    "Computer",
    "sender_domain",
    "TargetServerName",
    "FQDN",
    "hostname",
}
MAIL_FIELDS = {"sender", "recipient"}
URL_FIELDS = {"c-uri", "urls"}
# Raw IPv4 addresses, not version numbers (Chrome/124.0.0.0, "FileVersion":"2.45.1.1").
RAW_IPV4 = re.compile(r'(?<![\d./])(?<!FileVersion":")(?:\d{1,3}\.){3}\d{1,3}(?![\d.])')


def walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)
    else:
        yield key, value


def host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split(":", 1)[0]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(99, "small")


@pytest.fixture(scope="module")
def names(org) -> tuple[list[str], list[str]]:
    """Every address and domain name in the org and ten minutes of its noise."""
    ips = list(org.all_ips())
    domains = list(org.all_domains())
    for event in noise_stream(org, start=MONDAY_9_UTC, hours=1 / 6, seed=5):
        for key, value in walk(event.fields):
            if not isinstance(value, str) or not value or value == "-":
                continue
            if key in IP_FIELDS:
                ips.append(value.removeprefix("::ffff:"))
            elif key in DOMAIN_FIELDS and "." in value:  # bare NetBIOS names aside
                domains.append(value)
            elif key in MAIL_FIELDS:
                domains.append(value.rsplit("@", 1)[-1])
            elif key in URL_FIELDS:
                domains.append(host_of(value))
        ips += RAW_IPV4.findall(event.raw)
    return ips, domains


def test_ten_thousand_names_were_checked(names):
    ips, domains = names
    assert len(ips) + len(domains) >= 10_000
    assert len(domains) >= 1_000


def test_every_address_is_private_or_for_documentation(names):
    ips, _ = names
    bad = sorted({ip for ip in ips if not reserved.is_safe_ip(ip)})
    assert not bad, bad[:20]


def test_every_domain_is_reserved_or_a_curated_well_known_service(names):
    _, domains = names
    bad = sorted(
        {d for d in domains if not reserved.is_safe_domain(d, allow_well_known=True)}
    )
    assert not bad, bad[:20]


def test_no_public_address_hides_anywhere_in_the_raw_lines(org):
    for event in noise_stream(org, start=MONDAY_9_UTC + 7200, hours=0.05, seed=6):
        for candidate in RAW_IPV4.findall(event.raw):
            address = ipaddress.ip_address(candidate)
            assert reserved.is_safe_ip(str(address)), (candidate, event.raw[:200])


def test_attacker_helpers_only_return_reserved_values(org):
    rng = random.Random(2024)
    for _ in range(2000):
        assert reserved.is_documentation_ip(org.attacker_ip(rng))
        assert reserved.is_documentation_ip(org.attacker_ip(rng, ipv6=True))
        domain = org.attacker_domain(rng)
        assert reserved.is_reserved_domain(domain)
        assert not reserved.is_well_known_domain(domain)
