"""The sensor registry and the Sigma logsource each kind declares."""

from __future__ import annotations

import pytest

from simulator.sensors import SENSORS, Logsource, get_sensor

EXPECTED_IDS = {
    "sysmon",
    "windows_security",
    "powershell",
    "linux_auth",
    "auditd",
    "firewall",
    "proxy",
    "dns",
    "webserver",
    "cloudtrail",
    "idp_signin",
    "email_gateway",
    "edr",
}

# (sensor, kind) -> (product, category, service), as SigmaHQ rules select them.
LOGSOURCES = {
    ("sysmon", "process_creation"): ("windows", "process_creation", "sysmon"),
    ("sysmon", "network_connection"): ("windows", "network_connection", "sysmon"),
    ("sysmon", "image_load"): ("windows", "image_load", "sysmon"),
    ("sysmon", "process_access"): ("windows", "process_access", "sysmon"),
    ("sysmon", "file_event"): ("windows", "file_event", "sysmon"),
    ("sysmon", "registry_set"): ("windows", "registry_set", "sysmon"),
    ("sysmon", "registry_event"): ("windows", "registry_event", "sysmon"),
    ("sysmon", "dns_query"): ("windows", "dns_query", "sysmon"),
    ("windows_security", "default"): ("windows", None, "security"),
    ("windows_security", "4624"): ("windows", None, "security"),
    ("windows_security", "4688"): ("windows", "process_creation", "security"),
    ("powershell", "ps_script"): ("windows", "ps_script", "powershell"),
    ("linux_auth", "sshd"): ("linux", None, "auth"),
    ("linux_auth", "sudo"): ("linux", None, "auth"),
    ("auditd", "execve"): ("linux", None, "auditd"),
    ("firewall", "traffic"): (None, "firewall", None),
    ("firewall", "netfilter"): (None, "firewall", None),
    ("firewall", "config"): (None, "firewall", None),
    ("proxy", "access"): (None, "proxy", None),
    ("dns", "query"): (None, "dns", None),
    ("webserver", "access"): (None, "webserver", None),
    ("cloudtrail", "api_call"): ("aws", None, "cloudtrail"),
    ("idp_signin", "signin"): ("azure", None, "signinlogs"),
    ("idp_signin", "audit"): ("azure", None, "auditlogs"),
    ("email_gateway", "message"): (None, "email", None),
    ("edr", "alert"): (None, "edr", None),
}


def test_every_sensor_of_the_scenario_language_is_registered():
    assert set(SENSORS) == EXPECTED_IDS
    for sensor_id, sensor in SENSORS.items():
        assert sensor.id == sensor_id


@pytest.mark.parametrize(("sensor_id", "kind"), sorted(LOGSOURCES))
def test_each_kind_declares_the_logsource_sigma_rules_use(sensor_id, kind):
    product, category, service = LOGSOURCES[(sensor_id, kind)]
    assert SENSORS[sensor_id].kinds[kind] == Logsource(product, category, service)


def test_each_sensor_declares_kinds_fields_and_a_raw_format():
    for sensor in SENSORS.values():
        assert sensor.default_kind in sensor.kinds or sensor.default_kind == "default"
        assert sensor.raw_format
        for kind in sensor.kinds:
            assert sensor.field_names(kind), f"{sensor.id}/{kind} lists no fields"


def test_an_unknown_sensor_is_refused_with_the_closest_name():
    with pytest.raises(KeyError, match="did you mean 'sysmon'"):
        get_sensor("sysmom")
    assert get_sensor("proxy") is SENSORS["proxy"]
