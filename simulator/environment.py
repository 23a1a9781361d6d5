"""The synthetic organisation an exercise plays out in.

``Organisation.build(seed, size)`` makes a company deterministically from a seed: its
people (with departments, titles, working hours and workstations), hosts, service
accounts, Active Directory domain, IP plan, cloud accounts and identity tenant. Faker
is used here, once, and nowhere on the per-event path. A tenant keeps its organisation
as JSON (``to_json``/``from_json``), which is also the reproducibility unit: Faker's
output may change between releases, a saved organisation does not.

Every address is private or in the documentation ranges and every domain is an
RFC 2606 / ``.test`` name (``simulator.reserved``); ``from_json`` refuses anything else.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pydantic

from simulator import reserved

KINDS = ("workstation", "server", "domain_controller", "linux")
APPLIANCE_KIND = "appliance"

# Department -> job titles. IT comes first so every organisation has administrators;
# Executive early so crisis injects "from the CFO" have someone to come from.
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "IT": (
        "Systems Administrator",
        "Network Engineer",
        "Service Desk Analyst",
        "IT Manager",
        "Security Engineer",
    ),
    "Finance": (
        "Accountant",
        "Financial Analyst",
        "Accounts Payable Clerk",
        "Controller",
        "Payroll Specialist",
    ),
    "HR": ("HR Generalist", "Recruiter", "HR Business Partner", "Benefits Coordinator"),
    "Engineering": (
        "Software Engineer",
        "DevOps Engineer",
        "QA Engineer",
        "Data Engineer",
        "Engineering Manager",
    ),
    "Executive": (
        "Chief Executive Officer",
        "Chief Financial Officer",
        "Chief Operating Officer",
        "Executive Assistant",
    ),
    "Sales": (
        "Account Executive",
        "Sales Manager",
        "Sales Development Rep",
        "Solutions Consultant",
    ),
    "Marketing": (
        "Marketing Specialist",
        "Content Writer",
        "Marketing Manager",
        "Designer",
    ),
    "Legal": ("Counsel", "Paralegal", "Compliance Officer"),
    "Operations": (
        "Operations Analyst",
        "Facilities Coordinator",
        "Procurement Specialist",
        "Logistics Planner",
    ),
    "Support": ("Support Engineer", "Customer Success Manager", "Support Lead"),
}
SERVER_ROLES = (
    "file",
    "web",
    "db",
    "mail",
    "backup",
    "jump",
    "app",
    "print",
    "ca",
    "wsus",
)
LINUX_ROLES = ("web", "scanner", "db", "app", "build", "monitor", "bastion")
# Time zone -> (city, ISO country) used for sign-in locations.
TIMEZONES: dict[str, tuple[str, str]] = {
    "Europe/Berlin": ("Berlin", "DE"),
    "Europe/London": ("London", "GB"),
    "Europe/Paris": ("Paris", "FR"),
    "America/New_York": ("New York", "US"),
    "America/Chicago": ("Chicago", "US"),
    "Europe/Amsterdam": ("Amsterdam", "NL"),
}
SUBNETS = {
    "infrastructure": "10.10.0.0/24",  # appliances .1-.9, domain controllers .10+
    "servers": "10.10.4.0/22",
    "linux": "10.10.8.0/22",
    "workstations": "10.10.16.0/20",
    "vpn": "10.10.64.0/24",
    "cloud": "172.31.0.0/16",
}
_LIMITS = {
    "users": (1, 4000),
    "departments": (1, len(DEPARTMENTS)),
    "workstations": (0, 4000),
    "servers": (0, 1000),
    "domain_controllers": (1, 40),
    "linux_hosts": (0, 1000),
    "cloud_accounts": (0, 9),
}
# Public services benign noise talks to (reserved names beside the curated
# well-known list); the paste site is where a developer's curl goes.
BENIGN_SITES = (
    "news.example.com",
    "weather.example.org",
    "shop.example.net",
    "maps.example.com",
    "docs.example.org",
    "travel.example.net",
    "crm.saas-vendor.test",
    "hr-portal.saas-vendor.test",
    "status.cloud-provider.test",
    "pkg.dev-tools.test",
    "video.example.com",
    "wiki.example.org",
    "partners.example.net",
    "bank.example.com",
    "paste.example.org",
    "code.example.com",
)
PASTE_SITE = "paste.example.org"
_ATTACKER_WORDS = (
    "cdn",
    "update",
    "secure",
    "portal",
    "docs",
    "invoice",
    "login",
    "verify",
    "cloud",
    "sync",
    "files",
    "share",
    "mail",
    "support",
    "auth",
    "office",
    "online",
    "service",
    "account",
    "billing",
    "drive",
    "static",
    "api",
    "global",
    "edge",
)
_ATTACKER_SUFFIXES = ("test", "example", "example.net", "example.org", "example.com")


class OrganisationError(ValueError):
    """An organisation could not be built or loaded; the message says why."""


@dataclass(frozen=True, slots=True)
class OrgSize:
    """How many of each thing an organisation has."""

    users: int
    departments: int
    workstations: int
    servers: int
    domain_controllers: int
    linux_hosts: int
    cloud_accounts: int = 1

    @property
    def hosts(self) -> int:
        return (
            self.workstations
            + self.servers
            + self.domain_controllers
            + self.linux_hosts
        )

    @classmethod
    def parse(cls, size: OrgSize | str | dict[str, int]) -> OrgSize:
        """A named size (``small``, ``medium``, ``large``) or a dict of counts."""
        if isinstance(size, OrgSize):
            result = size
        elif isinstance(size, str):
            if size not in NAMED_SIZES:
                names = ", ".join(NAMED_SIZES)
                raise OrganisationError(f"unknown size {size!r}; choose one of {names}")
            result = NAMED_SIZES[size]
        elif isinstance(size, dict):
            unknown = sorted(set(size) - set(_LIMITS))
            if unknown:
                raise OrganisationError(f"unknown size keys {unknown}")
            base = asdict(NAMED_SIZES["small"])
            base.update(size)
            for key, value in base.items():
                if not isinstance(value, int) or isinstance(value, bool):
                    raise OrganisationError(f"size {key} must be an integer")
            result = cls(**base)
        else:
            raise OrganisationError(f"size must be a name or counts, not {size!r}")
        result.check()
        return result

    def check(self) -> None:
        for key, (low, high) in _LIMITS.items():
            value = getattr(self, key)
            if not low <= value <= high:
                raise OrganisationError(f"size {key}={value} not in {low}..{high}")


NAMED_SIZES = {
    "tiny": OrgSize(8, 3, 6, 2, 1, 1, 1),
    "small": OrgSize(25, 5, 20, 6, 2, 2, 1),
    "medium": OrgSize(45, 8, 36, 8, 2, 4, 1),
    "large": OrgSize(450, 10, 400, 60, 4, 36, 2),
}


@dataclass(frozen=True, slots=True)
class User:
    """A person in the organisation (role attributes usable in scenario templates)."""

    name: str
    sam: str
    upn: str
    email: str
    domain_user: str  # DOMAIN\sam
    sid: str
    department: str
    title: str
    timezone: str
    work_start: int  # local hour the working day starts
    work_end: int  # local hour it ends
    workstation: str | None  # primary workstation's host name
    is_admin: bool = False  # domain administrator (IT staff)
    linux_uid: int | None = None  # account on Linux hosts, if any

    def __str__(self) -> str:
        return self.sam


@dataclass(frozen=True, slots=True)
class Host:
    """A machine. ``str(host)`` is its name, so ``{{ victim_ws }}`` renders the name."""

    name: str
    fqdn: str
    ip: str
    os: str
    kind: str  # workstation | server | domain_controller | linux | appliance
    role: str  # file, web, db, mail, backup, jump, dc, firewall, proxy … or ""
    owner: str | None  # sam of the owning user (workstations)
    sid: str = ""  # machine account SID (Windows)
    mac: str = ""

    def __str__(self) -> str:
        return self.name

    @property
    def is_windows(self) -> bool:
        return self.kind in ("workstation", "server", "domain_controller")


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A non-human domain account; ``spn`` makes it Kerberoastable."""

    sam: str
    sid: str
    description: str
    spn: str | None
    host: str | None  # where it mostly runs


@dataclass(frozen=True, slots=True)
class IamUser:
    """An AWS IAM user with its (synthetic) access key ids."""

    user_name: str
    arn: str
    principal_id: str
    access_keys: tuple[str, ...]
    owner: str | None  # sam of the person, None for automation users


@dataclass(frozen=True, slots=True)
class CloudAccount:
    """One AWS account: IAM users, roles and buckets."""

    account_id: str
    alias: str
    region: str
    iam_users: tuple[IamUser, ...]
    roles: tuple[str, ...]
    buckets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IdpTenant:
    """The identity-provider tenant (Entra ID style) users sign in to."""

    tenant_id: str
    name: str
    domain: str
    apps: tuple[tuple[str, str], ...]  # (display name, application id)


@dataclass(frozen=True, slots=True)
class ExternalSite:
    """A public service benign noise talks to: its name and (reserved) address."""

    domain: str
    ip: str


@dataclass(slots=True)
class Organisation:
    """The company: people, machines, accounts, addresses. Lookups are indexed."""

    seed: int
    size: OrgSize
    name: str
    slug: str
    netbios: str
    dns_domain: str
    email_domain: str
    sid_prefix: str
    timezone: str
    egress_ip: str
    users: tuple[User, ...]
    service_accounts: tuple[ServiceAccount, ...]
    hosts: tuple[Host, ...]
    appliances: tuple[Host, ...]
    cloud_accounts: tuple[CloudAccount, ...]
    idp: IdpTenant
    external_sites: tuple[ExternalSite, ...]
    subnets: dict[str, str] = field(default_factory=lambda: dict(SUBNETS))
    _by_sam: dict[str, User] = field(init=False, repr=False, compare=False)
    _by_host: dict[str, Host] = field(init=False, repr=False, compare=False)
    _benign_ips: frozenset[str] = field(init=False, repr=False, compare=False)
    _memo: dict[Any, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_sam = {u.sam.lower(): u for u in self.users}
        self._by_host = {h.name.lower(): h for h in self.hosts + self.appliances}
        self._benign_ips = frozenset(s.ip for s in self.external_sites) | {
            self.egress_ip
        }
        self._memo = {}

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """A value derived from this organisation, computed once (sensors' lookups)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = make()
            return value

    # --- construction --------------------------------------------------------

    @classmethod
    def build(cls, seed: int, size: OrgSize | str | dict[str, int] = "small"):
        """Make an organisation from ``seed`` and ``size``; same inputs, same result."""
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise OrganisationError(f"seed must be an integer, not {seed!r}")
        from simulator._orgbuild import build_organisation

        return build_organisation(cls, seed, OrgSize.parse(size))

    # --- lookups ------------------------------------------------------------

    def user(self, sam: str) -> User:
        """The user with this sAMAccountName (case-insensitive); KeyError if none."""
        try:
            return self._by_sam[sam.lower()]
        except KeyError:
            raise KeyError(f"no user {sam!r} in {self.name}") from None

    def host(self, name: str) -> Host:
        """The host or appliance with this name (case-insensitive); KeyError if none."""
        try:
            return self._by_host[name.lower()]
        except KeyError:
            raise KeyError(f"no host {name!r} in {self.name}") from None

    def has_host(self, name: str) -> bool:
        return name.lower() in self._by_host

    def users_in(self, department: str) -> list[User]:
        """Users of one department (case-insensitive), in a stable order."""
        d = department.lower()
        return [u for u in self.users if u.department.lower() == d]

    @property
    def departments(self) -> list[str]:
        return sorted({u.department for u in self.users})

    def hosts_where(
        self,
        *,
        kind: str | None = None,
        role: str | None = None,
        owner: str | None = None,
    ) -> list[Host]:
        """Hosts matching every given attribute (owner by sam), in a stable order."""
        found = []
        for h in self.hosts:
            if kind is not None and h.kind != kind:
                continue
            if role is not None and h.role != role:
                continue
            if owner is not None and (h.owner or "").lower() != owner.lower():
                continue
            found.append(h)
        return found

    def appliance(self, role: str) -> Host:
        """The network appliance with this role (firewall, proxy, dns, mail, vpn)."""
        for a in self.appliances:
            if a.role == role:
                return a
        raise KeyError(f"no {role} appliance in {self.name}")

    @property
    def admins(self) -> list[User]:
        return [u for u in self.users if u.is_admin]

    def workstation_of(self, user: User) -> Host | None:
        return self.host(user.workstation) if user.workstation else None

    # --- attacker infrastructure (always reserved, never a benign address) ---

    def attacker_ip(self, rng: random.Random, *, ipv6: bool = False) -> str:
        """An "external" attacker address: RFC 5737 (or 2001:db8::/32), unused here."""
        if ipv6:
            return str(ipaddress.IPv6Address((0x20010DB8 << 96) | rng.getrandbits(96)))
        nets = ("192.0.2.", "198.51.100.", "203.0.113.")
        while True:
            ip = f"{rng.choice(nets)}{rng.randint(2, 254)}"
            if ip not in self._benign_ips:
                return ip

    def attacker_domain(self, rng: random.Random) -> str:
        """An attacker domain: a plausible name under a reserved suffix."""
        taken = {s.domain for s in self.external_sites}
        taken |= {self.dns_domain, self.email_domain}
        while True:
            first, second = rng.sample(_ATTACKER_WORDS, 2)
            name = f"{first}-{second}.{rng.choice(_ATTACKER_SUFFIXES)}"
            if rng.random() < 0.3:
                name = f"{rng.choice(_ATTACKER_WORDS)}.{name}"
            if name not in taken:
                return name

    # --- persistence --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, dicts, strings, numbers) for JSON."""
        return {
            name: _plain(getattr(self, name))
            for name in self.__dataclass_fields__
            if not name.startswith("_")
        }

    def to_json(self) -> str:
        """Stable, indented JSON text; ``from_json(to_json())`` equals the original."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()

    @classmethod
    def from_dict(cls, data: Any) -> Organisation:
        """Validate plain data and rebuild the organisation (OrganisationError)."""
        if not isinstance(data, dict):
            raise OrganisationError("an organisation must be a JSON object")
        try:
            org = _ADAPTER.validate_python(data, strict=False)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise OrganisationError(
                f"invalid organisation at {where or '(top)'}: {first['msg']}"
                + (
                    f" (and {exc.error_count() - 1} more)"
                    if exc.error_count() > 1
                    else ""
                )
            ) from None
        org.check_safe()
        return org

    @classmethod
    def from_json(cls, text: str | bytes) -> Organisation:
        """Inverse of :meth:`to_json`; OrganisationError if malformed or unsafe."""
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise OrganisationError(f"organisation is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Organisation:
        return cls.from_json(Path(path).read_bytes())

    def check_safe(self) -> None:
        """Raise OrganisationError if any address or domain is outside safe ranges."""
        for ip in self.all_ips():
            if not reserved.is_safe_ip(ip):
                raise OrganisationError(f"address {ip} is not private or reserved")
        for domain in self.all_domains():
            if not reserved.is_safe_domain(domain, allow_well_known=True):
                raise OrganisationError(f"domain {domain!r} is not a reserved name")
        if len(self._by_sam) != len(self.users):
            raise OrganisationError("user sAMAccountNames must be unique")
        if len(self._by_host) != len(self.hosts) + len(self.appliances):
            raise OrganisationError("host names must be unique")
        for h in self.hosts + self.appliances:
            if h.kind not in (*KINDS, APPLIANCE_KIND):
                raise OrganisationError(f"host {h.name} has unknown kind {h.kind!r}")
            if h.owner is not None and h.owner.lower() not in self._by_sam:
                raise OrganisationError(f"host {h.name} owner {h.owner!r} is no user")

    def all_ips(self) -> list[str]:
        ips = [h.ip for h in self.hosts + self.appliances]
        ips += [s.ip for s in self.external_sites]
        ips.append(self.egress_ip)
        return ips

    def all_domains(self) -> list[str]:
        names = [self.dns_domain, self.email_domain, self.idp.domain]
        names += [h.fqdn for h in self.hosts + self.appliances]
        names += [u.email.rsplit("@", 1)[-1] for u in self.users]
        names += [s.domain for s in self.external_sites]
        return names


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


_ADAPTER = pydantic.TypeAdapter(Organisation)
