"""The text sensors' output is pinned byte for byte across their fast rewrites.

``text_golden.json`` holds fingerprints of the record lines (fields, raw line and all)
the text sensors wrote for every case in ``text_cases`` before their per-line work was
cut; any change to what they write shows up here with the case that changed.
"""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from simulator.environment import Organisation
from simulator.sensors import SENSORS, SensorContext
from simulator.sensors._network import appliance
from tests.unit.sensors.text_cases import (
    GOLDEN,
    MONDAY,
    TIMES,
    case_org,
    cases,
    digest,
    render_case,
)

CASES = cases()
RECORDED = json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def case_organisation():
    return case_org()


def test_every_case_has_a_recorded_output():
    assert len(RECORDED) == len(CASES) * len(TIMES)


@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)]
)
def test_a_text_sensor_writes_what_it_wrote_before(case_organisation, index):
    for n, ts in enumerate(TIMES):
        line = render_case(case_organisation, index, CASES[index], ts)
        assert digest(line) == RECORDED[index * len(TIMES) + n], (CASES[index], line)


def test_each_organisation_gets_its_own_appliances():
    first, second = Organisation.build(11, "small"), Organisation.build(12, "medium")
    for org in (first, second, first):
        ctx = SensorContext(org, random.Random(1))
        for role in ("firewall", "proxy", "dns"):
            assert appliance(ctx, None, role) is org.appliance(role)
    given = second.appliance("proxy")
    assert appliance(SensorContext(first, random.Random(1)), given, "dns") is given


def test_a_hosts_syslog_header_follows_that_host_not_a_reused_identity(
    case_organisation,
):
    """Headers are kept per host object: a new host is never given an old one's."""
    linux = case_organisation.hosts_where(kind="linux")[0]
    sensor = SENSORS["linux_auth"]
    for n in range(50):
        debian = dataclasses.replace(linux, name=f"deb{n}", os="Debian 12")
        raw = sensor.event(
            uid="u",
            ts=MONDAY,
            kind="sshd",
            host=debian,
            values={"action": "failed"},
            ctx=SensorContext(case_organisation, random.Random(n)),
        ).raw
        assert raw.startswith(f"<38>Mar  2 08:00:00 deb{n} sshd[")
    raw = sensor.event(
        uid="u",
        ts=MONDAY,
        kind="cron",
        host=linux,
        values={},
        ctx=SensorContext(case_organisation, random.Random(1)),
    ).raw
    assert raw.startswith(f"<78>1 2026-03-02T08:00:00.000Z {linux.name} CRON ")
