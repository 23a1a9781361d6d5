"""Binding roles to a synthetic organisation: deterministic, selective, reserved."""

from __future__ import annotations

import pytest

from simulator.binding import BindingError, bind_roles, unmet_needs
from simulator.environment import Host, Organisation, User
from simulator.reserved import is_documentation_ip, is_reserved_domain
from simulator.scenario import load_scenario
from tests.unit.scenario.conftest import GOOD

ROLES = """\
id: binding
version: 1
title: Binding
summary: Roles of every kind.
scopes: [windows]
difficulty: easy
duration: 1h
environment:
  needs: {workstations: 2, servers: 1}
  roles:
    victim: {user: {department: Finance}}
    victim_ws: {host: {kind: workstation, owner: victim}}
    other: {user: {department: Finance}}
    file_server: {host: {kind: server, role: file}}
    c2: {external_ip: {}}
    c2_domain: {domain: {}}
    fixed_c2: {external_ip: {value: 198.51.100.77}}
stages:
  - {id: s, at: 0m, technique: T1059.001, tier: P3}
"""


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(11, "small")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(ROLES)


def test_selectors_are_honoured(scenario, org):
    bound = bind_roles(scenario, org, seed=3)
    assert isinstance(bound["victim"], User) and bound["victim"].department == "Finance"
    ws = bound["victim_ws"]
    assert isinstance(ws, Host) and ws.kind == "workstation"
    assert ws.owner == bound["victim"].sam
    assert bound["file_server"].kind == "server" and bound["file_server"].role == "file"
    assert bound["other"].department == "Finance"
    assert bound["other"] != bound["victim"]


def test_attacker_infrastructure_is_always_reserved(scenario, org):
    for seed in range(30):
        bound = bind_roles(scenario, org, seed)
        assert is_documentation_ip(bound["c2"])
        assert is_reserved_domain(bound["c2_domain"])
        assert bound["fixed_c2"] == "198.51.100.77"


def test_the_same_seed_gives_the_same_binding(scenario, org):
    assert bind_roles(scenario, org, 5) == bind_roles(scenario, org, 5)
    bindings = {str(bind_roles(scenario, org, s)) for s in range(10)}
    assert len(bindings) > 1


def test_adding_a_role_does_not_rebind_the_others(org):
    base = load_scenario(ROLES)
    grown = load_scenario(
        ROLES.replace(
            "    c2: {external_ip: {}}\n",
            "    c2: {external_ip: {}}\n    extra_domain: {domain: {}}\n",
        )
    )
    before, after = bind_roles(base, org, 9), bind_roles(grown, org, 9)
    assert {k: after[k] for k in before} == before


def test_an_unknown_department_names_the_real_ones(org):
    text = ROLES.replace(
        "department: Finance}}\n    victim_ws", "department: Finanse}}\n    victim_ws"
    )
    with pytest.raises(BindingError, match="did you mean 'Finance'"):
        bind_roles(load_scenario(text), org, 1)


def test_needs_larger_than_the_organisation_are_reported(org):
    text = ROLES.replace(
        "{workstations: 2, servers: 1}", "{workstations: 500, linux_hosts: 1}"
    )
    scenario = load_scenario(text)
    assert unmet_needs(scenario, org) == [
        f"workstations: needs 500, the organisation has {org.size.workstations}"
    ]
    with pytest.raises(BindingError, match="needs a larger organisation"):
        bind_roles(scenario, org, 1)


def test_a_selector_nothing_matches_is_an_error(org):
    text = ROLES.replace(
        "{kind: server, role: file}", "{kind: server, role: mainframe}"
    )
    with pytest.raises(BindingError, match="matches role 'file_server'"):
        bind_roles(load_scenario(text), org, 1)


def test_the_minimal_fixture_binds_in_a_tiny_organisation():
    tiny = Organisation.build(1, "tiny")
    scenario = load_scenario(GOOD / "minimal.yaml")
    bound = bind_roles(scenario, tiny, 1)
    assert bound["victim_ws"].owner == bound["victim"].sam
