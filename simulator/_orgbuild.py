"""How ``Organisation.build`` makes a company from a seed (the only Faker user).

Kept apart from ``environment.py`` so the data model reads on its own. Faker draws
names and the company name; everything else comes from one seeded ``random.Random``.
"""

from __future__ import annotations

import ipaddress
import random
import re
from typing import TYPE_CHECKING

from faker import Faker

from simulator import reserved
from simulator.environment import (
    BENIGN_SITES,
    DEPARTMENTS,
    LINUX_ROLES,
    SERVER_ROLES,
    SUBNETS,
    TIMEZONES,
    CloudAccount,
    ExternalSite,
    Host,
    IamUser,
    IdpTenant,
    OrgSize,
    ServiceAccount,
    User,
)
from simulator.fill import guid

if TYPE_CHECKING:
    from simulator.environment import Organisation

_WORKSTATION_OS = (
    "Windows 11 Enterprise 23H2",
    "Windows 11 Enterprise 22H2",
    "Windows 10 Enterprise 22H2",
)
_SERVER_OS = ("Windows Server 2022 Standard", "Windows Server 2019 Standard")
_LINUX_OS = ("Ubuntu 22.04 LTS", "Debian 12", "Rocky Linux 9")
_APPLIANCES = (  # name, role, last octet in the infrastructure subnet, os
    ("fw01", "firewall", 1, "EdgeFW 7.2"),
    ("proxy01", "proxy", 2, "Squid 6 on Debian 12"),
    ("ns01", "dns", 3, "BIND 9.18 on Debian 12"),
    ("mx01", "mail", 4, "Mail gateway 10.3"),
    ("vpn01", "vpn", 5, "VPN gateway 9.1"),
)
_SERVICE_ACCOUNTS = (  # sam, description, SPN template, server role it runs on
    ("svc_backup", "Backup agent", None, "backup"),
    ("svc_sql", "SQL Server engine", "MSSQLSvc/{host}:1433", "db"),
    ("svc_web", "Intranet application pool", "HTTP/{host}", "web"),
    ("svc_scan", "Vulnerability scanner credentialed checks", None, "scanner"),
    ("svc_deploy", "Build and deployment", None, "build"),
    ("svc_monitor", "Monitoring agent", None, "monitor"),
)
_REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-east-2")
_IDP_APPS = (
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
    ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
    ("Microsoft Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
    ("My Apps", "2793995e-0a7d-40d7-bd35-6968ba142197"),
)
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def build_organisation(cls: type[Organisation], seed: int, size: OrgSize):
    rng = random.Random(f"socdrill-org|{seed}")
    fake = Faker("en_US")
    fake.seed_instance(seed)

    company = fake.company().replace(",", "")
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower().split()[0]).strip("-") or "corp"
    slug = slug[:20]
    netbios = "CORP"
    dns_domain = f"corp.{slug}.test"
    email_domain = f"{slug}.test"
    sid_prefix = "S-1-5-21-" + "-".join(
        str(rng.randint(1_000_000_000, 4_294_967_295)) for _ in range(3)
    )
    timezone = rng.choice(list(TIMEZONES))

    departments = list(DEPARTMENTS)[: size.departments]
    users = _users(
        rng, fake, size, departments, netbios, email_domain, sid_prefix, timezone
    )

    hosts: list[Host] = []
    rid = 1000 + len(users) + 200
    net = ipaddress.ip_network(SUBNETS["infrastructure"])
    for i in range(size.domain_controllers):
        name = f"DC{i + 1:02d}"
        hosts.append(
            _host(
                rng,
                name,
                dns_domain,
                net[10 + i],
                rng.choice(_SERVER_OS),
                "domain_controller",
                "dc",
                None,
                sid_prefix,
                rid + len(hosts),
            )
        )
    net = ipaddress.ip_network(SUBNETS["servers"])
    role_counts: dict[str, int] = {}
    for i in range(size.servers):
        role = SERVER_ROLES[i % len(SERVER_ROLES)]
        role_counts[role] = role_counts.get(role, 0) + 1
        name = f"SRV-{role.upper()}{role_counts[role]:02d}"
        hosts.append(
            _host(
                rng,
                name,
                dns_domain,
                net[10 + i],
                rng.choice(_SERVER_OS),
                "server",
                role,
                None,
                sid_prefix,
                rid + len(hosts),
            )
        )
    net = ipaddress.ip_network(SUBNETS["workstations"])
    owners = [u for u in users if u.workstation]
    for i in range(size.workstations):
        owner = owners[i].sam if i < len(owners) else None
        hosts.append(
            _host(
                rng,
                f"WS{i + 1:04d}",
                dns_domain,
                net[10 + i],
                rng.choice(_WORKSTATION_OS),
                "workstation",
                "",
                owner,
                sid_prefix,
                rid + len(hosts),
            )
        )
    net = ipaddress.ip_network(SUBNETS["linux"])
    role_counts = {}
    for i in range(size.linux_hosts):
        role = LINUX_ROLES[i % len(LINUX_ROLES)]
        role_counts[role] = role_counts.get(role, 0) + 1
        name = f"lnx-{role}{role_counts[role]:02d}"
        hosts.append(
            _host(
                rng,
                name,
                dns_domain,
                net[10 + i],
                rng.choice(_LINUX_OS),
                "linux",
                role,
                None,
                "",
                0,
            )
        )
    net = ipaddress.ip_network(SUBNETS["infrastructure"])
    appliances = tuple(
        _host(rng, name, dns_domain, net[octet], os, "appliance", role, None, "", 0)
        for name, role, octet, os in _APPLIANCES
    )

    service_accounts = _service_accounts(hosts, sid_prefix, rid + len(hosts) + 50)
    external_sites = _external_sites(rng)
    used = {s.ip for s in external_sites}
    while True:
        egress_ip = f"203.0.113.{rng.randint(2, 30)}"
        if egress_ip not in used:
            break
    cloud = tuple(
        _cloud_account(rng, i, slug, users) for i in range(size.cloud_accounts)
    )
    idp = IdpTenant(
        tenant_id=guid(rng),
        name=f"{company} directory",
        domain=email_domain,
        apps=_IDP_APPS,
    )
    org = cls(
        seed=seed,
        size=size,
        name=company,
        slug=slug,
        netbios=netbios,
        dns_domain=dns_domain,
        email_domain=email_domain,
        sid_prefix=sid_prefix,
        timezone=timezone,
        egress_ip=egress_ip,
        users=tuple(users),
        service_accounts=service_accounts,
        hosts=tuple(hosts),
        appliances=appliances,
        cloud_accounts=cloud,
        idp=idp,
        external_sites=external_sites,
        subnets=dict(SUBNETS),
    )
    org.check_safe()
    return org


def _users(rng, fake, size, departments, netbios, email_domain, sid_prefix, timezone):
    # Every department gets at least one person; IT about an eighth; the rest spread.
    plan = list(departments[: size.users])
    weights = [3 if d == "IT" else 1 if d == "Executive" else 4 for d in departments]
    while len(plan) < size.users:
        plan.append(rng.choices(departments, weights)[0])
    plan.sort(key=departments.index)
    other_zones = [z for z in TIMEZONES if z != timezone]
    users: list[User] = []
    taken: set[str] = {"administrator", "guest", "krbtgt"}
    titles_used: dict[str, int] = {}
    for i, dept in enumerate(plan):
        first, last = fake.first_name(), fake.last_name()
        base = re.sub(r"[^a-z]", "", (first[0] + last).lower())[:18] or "user"
        sam, n = base, 1
        while sam in taken:
            n += 1
            sam = f"{base}{n}"
        taken.add(sam)
        titles = DEPARTMENTS[dept]
        k = titles_used.get(dept, 0)
        titles_used[dept] = k + 1
        start = rng.choice((7, 8, 8, 8, 9, 9))
        zone = timezone if rng.random() < 0.9 else rng.choice(other_zones)
        has_ws = i < size.workstations
        users.append(
            User(
                name=f"{first} {last}",
                sam=sam,
                upn=f"{sam}@{email_domain}",
                email=f"{first.lower()}.{last.lower()}@{email_domain}".replace(" ", ""),
                domain_user=f"{netbios}\\{sam}",
                sid=f"{sid_prefix}-{1104 + i}",
                department=dept,
                title=titles[k % len(titles)],
                timezone=zone,
                work_start=start,
                work_end=start + rng.choice((8, 9, 9, 10)),
                workstation=f"WS{i + 1:04d}" if has_ws else None,
                is_admin=dept == "IT",
                linux_uid=1000 + i if dept in ("IT", "Engineering") else None,
            )
        )
    # E-mail local parts must stay unique even when two people share a name.
    seen: dict[str, int] = {}
    unique = []
    for u in users:
        local = u.email.split("@")[0]
        seen[local] = seen.get(local, 0) + 1
        if seen[local] > 1:
            u = User(**{**_fields(u), "email": f"{local}{seen[local]}@{email_domain}"})
        unique.append(u)
    return unique


def _fields(obj) -> dict:
    return {k: getattr(obj, k) for k in obj.__dataclass_fields__}


def _host(rng, name, dns_domain, ip, os, kind, role, owner, sid_prefix, rid) -> Host:
    mac = "00:15:5d:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(3))
    fqdn = f"{name.lower()}.{dns_domain}"
    sid = f"{sid_prefix}-{rid}" if sid_prefix else ""
    return Host(
        name=name,
        fqdn=fqdn,
        ip=str(ip),
        os=os,
        kind=kind,
        role=role,
        owner=owner,
        sid=sid,
        mac=mac,
    )


def _service_accounts(hosts, sid_prefix, rid) -> tuple[ServiceAccount, ...]:
    accounts = []
    for i, (sam, description, spn, role) in enumerate(_SERVICE_ACCOUNTS):
        runs_on = next((h for h in hosts if h.role == role), None)
        accounts.append(
            ServiceAccount(
                sam=sam,
                sid=f"{sid_prefix}-{rid + i}",
                description=description,
                spn=spn.format(host=runs_on.fqdn) if spn and runs_on else None,
                host=runs_on.name if runs_on else None,
            )
        )
    return tuple(accounts)


def _external_sites(rng) -> tuple[ExternalSite, ...]:
    names = list(reserved.WELL_KNOWN_DOMAINS) + list(BENIGN_SITES)
    pool = [
        f"{p}{n}"
        for p in ("192.0.2.", "198.51.100.", "203.0.113.")
        for n in range(40, 250)
    ]
    ips = rng.sample(pool, len(names))
    return tuple(
        ExternalSite(domain=d, ip=ip) for d, ip in zip(names, ips, strict=True)
    )


def _cloud_account(rng, index, slug, users) -> CloudAccount:
    digits = rng.sample("123456789", 3)
    account_id = "".join(d * 4 for d in digits)
    people = [u for u in users if u.department in ("IT", "Engineering")][:8]
    iam = []
    for owner in [*people, None, None]:
        if owner is None:
            name = (
                "ci-deploy"
                if not any(i.user_name == "ci-deploy" for i in iam)
                else "svc-backup"
            )
        else:
            name = owner.sam
        key = "AKIAEXAMPLE" + "".join(rng.choice(_B32) for _ in range(9))
        iam.append(
            IamUser(
                user_name=name,
                arn=f"arn:aws:iam::{account_id}:user/{name}",
                principal_id="AIDA" + "".join(rng.choice(_ALNUM) for _ in range(17)),
                access_keys=(key,),
                owner=owner.sam if owner else None,
            )
        )
    purposes = ("finance-reports", "backups", "web-assets", "data-lake", "logs")
    return CloudAccount(
        account_id=account_id,
        alias=f"{slug}-{'prod' if index == 0 else f'env{index + 1}'}",
        region=rng.choice(_REGIONS),
        iam_users=tuple(iam),
        roles=(
            "OrganizationAccountAccessRole",
            "DevOpsDeployRole",
            "ReadOnlyAuditRole",
        ),
        buckets=tuple(f"{slug}-{p}-{account_id[-4:]}" for p in purposes),
    )
