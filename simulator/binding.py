"""Binding a scenario's roles to one synthetic organisation, deterministically.

``bind_roles(scenario, org, seed)`` picks, for each role, a user, a host or a piece of
attacker infrastructure. Each role draws from its own stream seeded by (seed, scenario
id, role name), so adding a role does not change who the others are. Distinct roles
get distinct users and hosts while the organisation has enough of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.reserved import is_documentation_ip, is_reserved_domain
from simulator.scenario.problems import did_you_mean
from simulator.scenario.seeding import stable_rng

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation, User
    from simulator.scenario.model import HostSelector, Scenario, UserSelector

# Host kind counted by each `needs` key that names hosts.
NEEDS_HOST_KINDS = {
    "workstations": "workstation",
    "servers": "server",
    "domain_controllers": "domain_controller",
    "linux_hosts": "linux",
}
# Users before hosts (a host may be selected by its owner), infrastructure last.
_ORDER = {"user": 0, "host": 1, "external_ip": 2, "domain": 3}


class BindingError(ValueError):
    """The organisation cannot play this scenario; the message says what is missing."""


def unmet_needs(scenario: Scenario, org: Organisation) -> list[str]:
    """What ``environment.needs`` asks for that ``org`` does not have."""
    needs = scenario.environment.needs
    have = {
        "users": len(org.users),
        "departments": len(org.departments),
        "cloud_accounts": len(org.cloud_accounts),
    }
    for key, kind in NEEDS_HOST_KINDS.items():
        have[key] = sum(1 for h in org.hosts if h.kind == kind)
    missing = []
    for key, wanted in needs:
        if wanted is not None and have.get(key, 0) < wanted:
            missing.append(f"{key}: needs {wanted}, the organisation has {have[key]}")
    return missing


def bind_roles(scenario: Scenario, org: Organisation, seed: int) -> dict[str, Any]:
    """Role name → ``User``, ``Host`` or address/domain string for this ``seed``.

    Raises :class:`BindingError` when the organisation lacks what the scenario needs
    or no user or host matches a role's selector.
    """
    missing = unmet_needs(scenario, org)
    if missing:
        raise BindingError(
            f"scenario '{scenario.id}' needs a larger organisation: "
            + "; ".join(missing)
        )
    roles = sorted(
        scenario.environment.roles.items(),
        key=lambda item: (_ORDER.get(item[1].kind, 9), item[0]),
    )
    # A user role that owns a host role may only go to someone who owns such a host.
    owned: dict[str, list[HostSelector]] = {}
    for spec in scenario.environment.roles.values():
        if spec.host is not None and spec.host.owner is not None:
            owned.setdefault(spec.host.owner, []).append(spec.host)
    bound: dict[str, Any] = {}
    taken: set[str] = set()
    for name, spec in roles:
        rng = stable_rng(seed, scenario.id, "role", name)
        if spec.user is not None:
            users = [
                u
                for u in _users(org, spec.user)
                if all(_hosts(org, h, {}, owner=u.sam) for h in owned.get(name, []))
            ]
            bound[name] = _pick(name, users, taken, rng)
        elif spec.host is not None:
            bound[name] = _pick(name, _hosts(org, spec.host, bound), taken, rng)
        elif spec.external_ip is not None:
            bound[name] = _infra(
                name, spec.external_ip.value, taken, lambda r=rng: org.attacker_ip(r)
            )
            if not is_documentation_ip(bound[name]):
                raise BindingError(f"role '{name}': {bound[name]} is not reserved")
        elif spec.domain is not None:
            bound[name] = _infra(
                name, spec.domain.value, taken, lambda r=rng: org.attacker_domain(r)
            )
            if not is_reserved_domain(bound[name]):
                raise BindingError(f"role '{name}': {bound[name]} is not reserved")
    return {name: bound[name] for name in scenario.environment.roles}


def _users(org: Organisation, selector: UserSelector) -> list[User]:
    users = list(org.users)
    if selector.department is not None:
        users = org.users_in(selector.department)
        if not users:
            raise BindingError(
                f"no user in department '{selector.department}'"
                f"{did_you_mean(selector.department, org.departments)}; "
                f"the organisation has {', '.join(org.departments)}"
            )
    if selector.title is not None:
        wanted = selector.title.lower()
        users = [u for u in users if u.title.lower() == wanted]
    return users


def _hosts(
    org: Organisation,
    selector: HostSelector,
    bound: dict[str, Any],
    owner: str | None = None,
) -> list[Host]:
    if owner is None and selector.owner is not None:
        user = bound.get(selector.owner)
        if user is None or not hasattr(user, "sam"):
            raise BindingError(f"host owner '{selector.owner}' is not a bound user")
        owner = user.sam
    hosts = org.hosts_where(kind=selector.kind, role=selector.role, owner=owner)
    if selector.os is not None:
        wanted = selector.os.lower()
        hosts = [h for h in hosts if wanted in h.os.lower()]
    return hosts


def _pick(role: str, candidates: list[Any], taken: set[str], rng: Any) -> Any:
    if not candidates:
        raise BindingError(
            f"no user or host in the organisation matches role '{role}'; "
            "relax its selector or use a larger organisation"
        )
    ordered = sorted(candidates, key=_identity)
    fresh = [c for c in ordered if _identity(c) not in taken]
    choice = rng.choice(fresh or ordered)
    taken.add(_identity(choice))
    return choice


def _infra(role: str, fixed: str | None, taken: set[str], draw: Any) -> str:
    if fixed is not None:
        taken.add(fixed)
        return fixed
    for _ in range(100):
        value = draw()
        if value not in taken:
            taken.add(value)
            return value
    raise BindingError(f"could not draw distinct attacker infrastructure for '{role}'")


def _identity(target: Any) -> str:
    """``user:<sam>`` or ``host:<name>``, so a user and a host never collide."""
    if hasattr(target, "sam"):
        return f"user:{target.sam.lower()}"
    return f"host:{target.name.lower()}"
