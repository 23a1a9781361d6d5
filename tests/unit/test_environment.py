"""The synthetic organisation: deterministic, complete, safe, and kept as JSON."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys

import pytest

from simulator import reserved
from simulator.environment import (
    NAMED_SIZES,
    Organisation,
    OrganisationError,
    OrgSize,
)
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def org() -> Organisation:
    return Organisation.build(42, "small")


def test_the_same_seed_builds_the_same_organisation(org):
    again = Organisation.build(42, "small")
    assert again == org
    assert again.to_json() == org.to_json()
    assert Organisation.build(43, "small").users != org.users


@pytest.mark.parametrize(
    ("size", "users", "hosts"),
    [("small", 25, 30), ("medium", 45, 50), ("large", 450, 500)],
)
def test_named_sizes_have_the_documented_headcount(size, users, hosts):
    org = Organisation.build(1, size)
    assert len(org.users) == users
    assert len(org.hosts) == hosts == NAMED_SIZES[size].hosts


def test_explicit_counts_are_honoured():
    org = Organisation.build(
        3,
        {
            "users": 12,
            "workstations": 10,
            "servers": 3,
            "domain_controllers": 1,
            "linux_hosts": 1,
            "departments": 4,
            "cloud_accounts": 2,
        },
    )
    assert len(org.users) == 12
    assert len(org.hosts_where(kind="workstation")) == 10
    assert len(org.hosts_where(kind="server")) == 3
    assert len(org.departments) == 4
    assert len(org.cloud_accounts) == 2


@pytest.mark.parametrize(
    "size",
    [
        "huge",
        {"users": 0},
        {"servers": -1},
        {"laptops": 3},
        {"users": "many"},
        {"domain_controllers": 0},
        7,
    ],
)
def test_a_bad_size_is_refused_with_the_reason(size):
    with pytest.raises(OrganisationError):
        Organisation.build(1, size)


def test_a_bad_seed_is_refused():
    with pytest.raises(OrganisationError, match="seed"):
        Organisation.build("7", "small")  # type: ignore[arg-type]


def test_people_have_the_attributes_scenarios_use(org):
    for user in org.users:
        assert user.domain_user == f"{org.netbios}\\{user.sam}"
        assert user.sid.startswith(org.sid_prefix + "-")
        assert user.upn == f"{user.sam}@{org.email_domain}"
        assert user.email.endswith("@" + org.email_domain)
        assert user.department in org.departments
        assert 0 <= user.work_start < user.work_end <= 24
    assert len({u.sam for u in org.users}) == len(org.users)
    assert len({u.email for u in org.users}) == len(org.users)
    assert org.admins and all(u.department == "IT" for u in org.admins)


def test_workstations_belong_to_their_owners(org):
    for user in org.users:
        if user.workstation:
            host = org.host(user.workstation)
            assert host.owner == user.sam
            assert org.hosts_where(kind="workstation", owner=user.sam) == [host]


def test_a_host_renders_as_its_name_in_templates(org):
    host = org.hosts_where(kind="server", role="file")[0]
    assert str(host) == host.name == "SRV-FILE01"
    assert f"{host}" == "SRV-FILE01"
    assert host.fqdn == f"srv-file01.{org.dns_domain}"


def test_lookups_find_people_and_machines(org):
    finance = org.users_in("finance")
    assert finance and all(u.department == "Finance" for u in finance)
    assert org.user(finance[0].sam.upper()) == finance[0]
    assert org.host("dc01").kind == "domain_controller"
    assert org.appliance("firewall").name == "fw01"
    assert {h.role for h in org.hosts_where(kind="server")} >= {"file", "web", "db"}
    with pytest.raises(KeyError, match="no user"):
        org.user("nobody")
    with pytest.raises(KeyError, match="no host"):
        org.host("WS9999")


def test_the_domain_and_cloud_accounts_look_synthetic(org):
    assert org.netbios == "CORP"
    assert reserved.is_reserved_domain(org.dns_domain)
    account = org.cloud_accounts[0]
    assert len(account.account_id) == 12 and account.account_id.isdigit()
    for iam in account.iam_users:
        for key in iam.access_keys:
            assert key.startswith("AKIAEXAMPLE") and len(key) == 20
    assert reserved.is_reserved_domain(org.idp.domain)


def test_addresses_follow_the_private_plan(org):
    for host in org.hosts + org.appliances:
        assert reserved.is_safe_ip(host.ip)
        assert not reserved.is_documentation_ip(host.ip)
    assert reserved.is_documentation_ip(org.egress_ip)
    assert len({h.ip for h in org.hosts + org.appliances}) == len(org.hosts) + 5


def test_attacker_infrastructure_is_reserved_and_never_a_benign_service(org):
    rng = random.Random(5)
    benign = {s.ip for s in org.external_sites} | {org.egress_ip}
    for _ in range(500):
        ip = org.attacker_ip(rng)
        assert reserved.is_documentation_ip(ip) and ip not in benign
        assert reserved.is_documentation_ip(org.attacker_ip(rng, ipv6=True))
        domain = org.attacker_domain(rng)
        assert reserved.is_safe_domain(domain, allow_well_known=False)
        assert domain not in {s.domain for s in org.external_sites}


def test_json_round_trip_is_exact(org, tmp_path):
    again = Organisation.from_json(org.to_json())
    assert again == org
    assert again.to_json() == org.to_json()
    path = tmp_path / "org.json"
    org.save(path)
    assert Organisation.load(path) == org
    assert again.user(org.users[0].sam) == org.users[0]


def test_malformed_organisation_json_is_refused_with_the_place(org):
    with pytest.raises(OrganisationError, match="not valid JSON"):
        Organisation.from_json("{not json")
    with pytest.raises(OrganisationError, match="JSON object"):
        Organisation.from_json("[1, 2]")
    data = json.loads(org.to_json())
    del data["users"][0]["sam"]
    with pytest.raises(OrganisationError, match=r"users\.0"):
        Organisation.from_dict(data)


def test_an_organisation_with_a_public_address_is_refused(org):
    data = json.loads(org.to_json())
    data["hosts"][0]["ip"] = "8.8.8.8"
    with pytest.raises(OrganisationError, match="8.8.8.8"):
        Organisation.from_dict(data)
    data = json.loads(org.to_json())
    data["email_domain"] = "real-company.com"
    with pytest.raises(OrganisationError, match="real-company.com"):
        Organisation.from_dict(data)


def test_duplicate_names_and_dangling_owners_are_refused(org):
    twin = dataclasses.replace(org.users[1], sam=org.users[0].sam)
    with pytest.raises(OrganisationError, match="unique"):
        dataclasses.replace(
            org, users=(org.users[0], twin, *org.users[2:])
        ).check_safe()
    data = json.loads(org.to_json())
    data["hosts"][-5]["owner"] = "ghost"
    with pytest.raises(OrganisationError, match="ghost"):
        Organisation.from_dict(data)


def test_size_counts_are_an_orgsize():
    assert OrgSize.parse("medium").hosts == 50
    assert OrgSize.parse(NAMED_SIZES["small"]) is NAMED_SIZES["small"]


def test_faker_is_never_loaded_on_the_event_path(org, tmp_path):
    path = tmp_path / "org.json"
    org.save(path)
    code = (
        "import sys\n"
        "from simulator.environment import Organisation\n"
        "from simulator.noise import noise_stream\n"
        f"org = Organisation.load({str(path)!r})\n"
        "events = list(noise_stream(org, start=1772442000, hours=0.05, seed=1))\n"
        "assert events, 'no noise'\n"
        "print('faker' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
