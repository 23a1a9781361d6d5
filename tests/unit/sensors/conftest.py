"""Fixtures for the sensor tests: one small organisation and a seeded context."""

from __future__ import annotations

import random

import pytest

from simulator.environment import Organisation
from simulator.sensors import SensorContext

# A Monday morning in March (08:00 UTC), the default drill start.
MONDAY = 1_772_438_400.0


@pytest.fixture(scope="session")
def org() -> Organisation:
    return Organisation.build(11, "small")


@pytest.fixture
def ctx(org: Organisation) -> SensorContext:
    return SensorContext(org, random.Random(7))


@pytest.fixture(scope="session")
def workstation(org: Organisation):
    return org.hosts_where(kind="workstation")[0]


@pytest.fixture(scope="session")
def dc(org: Organisation):
    return org.hosts_where(kind="domain_controller")[0]


@pytest.fixture(scope="session")
def linux(org: Organisation):
    return org.hosts_where(kind="linux")[0]
