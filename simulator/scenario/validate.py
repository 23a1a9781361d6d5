"""Semantic checks of a scenario: references, timing, templates, safety, catalogues.

:func:`validate` returns every problem it finds (it does not stop at the first), each
located at the key or value concerned and, for unknown names, with the closest valid
one. The structure itself was already checked by the pydantic model.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from simulator import vocabulary
from simulator.scenario import textscan
from simulator.scenario.attack import catalogue
from simulator.scenario.durations import format_duration
from simulator.scenario.model import EventSpec, Repeat, Scenario, Stage
from simulator.scenario.problems import Path, Problem, did_you_mean
from simulator.scenario.templating import HELPERS, check_template, single_name

# Which role kind each `requires` condition tests.
CONDITION_TARGETS: dict[str, tuple[str, ...]] = {
    "host_online": ("host",),
    "account_enabled": ("user",),
    "password_unchanged": ("user",),
    "not_blocked": ("external_ip", "domain"),
    "key_active": ("user",),
    "sessions_valid": ("user",),
}
# Events one scenario may produce; keeps an uploaded file from flooding the SIEM.
MAX_EVENTS = 200_000
_JINJA_RESERVED = {"true", "false", "none", "True", "False", "None", "loop", "self"}

RuleIds = Iterable[str] | Callable[[], Iterable[str]] | None


def validate(
    scenario: Scenario,
    *,
    known_rule_ids: RuleIds = None,
    sensors: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Every semantic problem of ``scenario``, sorted by position.

    ``known_rule_ids`` (a set, or a callable returning one) enables the check of
    ``expect.detections``; ``sensors`` defaults to the simulator's sensor registry.
    """
    if callable(known_rule_ids):
        known_rule_ids = known_rule_ids()
    checker = _Checker(
        scenario,
        set(known_rule_ids) if known_rule_ids is not None else None,
        sensors if sensors is not None else _default_sensors(),
    )
    checker.run()
    return sorted(checker.problems, key=lambda p: (p.line, p.col, p.path))


def _default_sensors() -> Mapping[str, Any] | None:
    try:
        from simulator.sensors import SENSORS
    except ImportError:  # the sensor registry is optional for pure format checks
        return None
    return SENSORS


class _Checker:
    def __init__(
        self,
        scenario: Scenario,
        rule_ids: set[str] | None,
        sensors: Mapping[str, Any] | None,
    ) -> None:
        self.s = scenario
        self.rule_ids = rule_ids
        self.sensors = sensors
        self.problems: list[Problem] = []
        self.roles = scenario.role_kinds()
        self.stage_ids = [stage.id for stage in scenario.stages]
        self.fallback_sources: dict[str, list[str]] = {}
        for stage in scenario.stages:
            if stage.on_blocked is not None:
                self.fallback_sources.setdefault(stage.on_blocked.stage, []).append(
                    stage.id
                )

    def add(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(self.s.source.problem(path, message, key=key))

    def run(self) -> None:
        self.check_roles()
        self.check_unique(("stages",), self.stage_ids, "stage")
        self.check_unique(("crisis",), [c.id for c in self.s.crisis], "crisis inject")
        for i, stage in enumerate(self.s.stages):
            self.check_stage(("stages", i), stage)
        self.check_cycles()
        self.check_injects()
        self.check_event_budget()
        self.check_text()

    # --- roles ----------------------------------------------------------------------

    def check_roles(self) -> None:
        for name, spec in self.s.environment.roles.items():
            path = ("environment", "roles", name)
            given = [
                k
                for k in ("user", "host", "external_ip", "domain")
                if getattr(spec, k) is not None
            ]
            if len(given) != 1:
                self.add(
                    path,
                    "a role is exactly one of user, host, external_ip or domain"
                    + (f" (got {', '.join(given)})" if given else ""),
                )
            if name in HELPERS or name in _JINJA_RESERVED or keyword.iskeyword(name):
                self.add(path, f"'{name}' is a reserved name; pick another", key=True)
            if spec.host is not None and spec.host.owner is not None:
                self.check_role_ref(
                    (*path, "host", "owner"), spec.host.owner, ("user",)
                )
            if spec.external_ip is not None and spec.external_ip.value is not None:
                value = spec.external_ip.value
                if not textscan.is_attacker_ip(value):
                    self.add(
                        (*path, "external_ip", "value"),
                        f"'{value}' is not a documentation address "
                        "(use 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 "
                        "or 2001:db8::/32)",
                    )
            if spec.domain is not None and spec.domain.value is not None:
                value = spec.domain.value
                if not textscan.is_attacker_domain(value):
                    self.add(
                        (*path, "domain", "value"),
                        f"'{value}' is not a reserved domain (use a name under "
                        ".test, .example or example.com)",
                    )

    def check_role_ref(
        self, path: Path, role: str, kinds: tuple[str, ...], purpose: str = ""
    ) -> bool:
        if role not in self.roles:
            self.add(path, f"unknown role '{role}'{did_you_mean(role, self.roles)}")
            return False
        if self.roles[role] not in kinds and self.roles[role]:
            wanted = " or ".join(kinds)
            self.add(
                path,
                f"{purpose or 'this'} needs {_a(wanted)} role; "
                f"'{role}' is {_a(self.roles[role])} role",
            )
            return False
        return True

    # --- stages ---------------------------------------------------------------------

    def check_unique(self, path: Path, ids: list[str], what: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(ids):
            if item in seen:
                self.add((*path, i, "id"), f"duplicate {what} id '{item}'")
            seen.add(item)

    def check_stage(self, path: Path, stage: Stage) -> None:
        self.check_timing(path, stage)
        for t, technique in enumerate(stage.technique):
            message = catalogue().problem(technique)
            if message:
                self.add(
                    (*path, "technique", t)
                    if len(stage.technique) > 1
                    else (
                        *path,
                        "technique",
                    ),
                    message,
                )
        for e, role in enumerate(stage.entities):
            if role not in self.roles:
                self.add(
                    (*path, "entities", e),
                    f"unknown role '{role}'{did_you_mean(role, self.roles)}",
                )
        if stage.requires is not None:
            for condition, roles in stage.requires:
                for r, role in enumerate(roles or ()):
                    where = (*path, "requires", condition)
                    self.check_role_ref(
                        (*where, r) if len(roles) > 1 else where,
                        role,
                        CONDITION_TARGETS.get(condition, ()),
                        condition,
                    )
        if stage.on_blocked is not None:
            target = stage.on_blocked.stage
            where = (*path, "on_blocked", "stage")
            if target == stage.id:
                self.add(where, "a stage cannot fall back to itself")
            elif target not in self.stage_ids:
                self.add(
                    where,
                    f"unknown stage '{target}'{did_you_mean(target, self.stage_ids)}",
                )
            if stage.requires is None:
                self.add(
                    (*path, "on_blocked"),
                    "on_blocked has no effect without 'requires'",
                    key=True,
                )
        for n, item in enumerate(stage.expect.responses):
            actions = [(a, r) for a, r in item if r is not None]
            where = (*path, "expect", "responses", n)
            if len(actions) != 1:
                self.add(where, "each response is one {action: role} pair")
                continue
            action, role = actions[0]
            kind = vocabulary.RESPONSE_ACTIONS[action]
            self.check_role_ref((*where, action), role, (kind,), action)
        if self.rule_ids is not None:
            for n, rule in enumerate(stage.expect.detections):
                if rule not in self.rule_ids:
                    self.add(
                        (*path, "expect", "detections", n),
                        f"unknown rule id '{rule}'{did_you_mean(rule, self.rule_ids)}",
                    )
        for n, event in enumerate(stage.events):
            self.check_event((*path, "events", n), event)

    def check_timing(self, path: Path, stage: Stage) -> None:
        sources = self.fallback_sources.get(stage.id, [])
        if stage.at is not None and stage.after is not None:
            self.add(
                (*path, "after"), "give either 'at' or 'after', not both", key=True
            )
        if stage.delay is not None and stage.after is None and not sources:
            self.add(
                (*path, "delay"),
                "'delay' counts from 'after' (or from the blocked stage of an "
                "on_blocked fallback); use 'at' for an offset from the start",
                key=True,
            )
        if stage.after is not None:
            if stage.after == stage.id:
                self.add((*path, "after"), "a stage cannot come after itself")
            elif stage.after not in self.stage_ids:
                self.add(
                    (*path, "after"),
                    f"unknown stage '{stage.after}'"
                    f"{did_you_mean(stage.after, self.stage_ids)}",
                )
        if sources:
            if stage.at is not None:
                self.add(
                    (*path, "at"),
                    f"'{stage.id}' is the fallback of {_quoted(sources)} and starts "
                    "when that stage is blocked; remove 'at'",
                    key=True,
                )
            if stage.after is not None and stage.after not in sources:
                self.add(
                    (*path, "after"),
                    f"a fallback stage starts when {_quoted(sources)} is blocked; "
                    f"'after' may only name that stage",
                )
        elif stage.at is None and stage.after is None:
            self.add(
                path,
                f"stage '{stage.id}' never starts: give it 'at' or 'after' (or name it "
                "in another stage's on_blocked)",
            )
        if stage.at is not None and stage.at > self.s.duration:
            self.add(
                (*path, "at"),
                f"at {format_duration(stage.at)} is after the end of the scenario "
                f"(duration {format_duration(self.s.duration)})",
            )
        if stage.duration is not None and stage.duration <= 0:
            self.add((*path, "duration"), "a duration must be longer than 0s")
        self.check_repeat(
            (*path, "repeat"), stage.repeat, count_optional=stage.duration is not None
        )
        if (
            stage.duration is not None
            and stage.repeat is not None
            and stage.repeat.count is not None
        ):
            self.add(
                (*path, "repeat", "count"),
                "a stage with a duration repeats until it ends; give only 'every'",
                key=True,
            )

    def check_repeat(
        self, path: Path, repeat: Repeat | None, *, count_optional: bool
    ) -> None:
        if repeat is None:
            return
        if repeat.every <= 0:
            self.add((*path, "every"), "'every' must be longer than 0s")
        if repeat.count is None and not count_optional:
            self.add(path, "repeat needs a 'count'")

    def check_event(self, path: Path, event: EventSpec) -> None:
        self.check_repeat((*path, "repeat"), event.repeat, count_optional=False)
        if event.host is not None:
            name = single_name(event.host)
            if name is None or self.roles.get(name) != "host":
                hosts = [r for r, k in self.roles.items() if k == "host"]
                example = f" such as '{{{{ {hosts[0]} }}}}'" if hosts else ""
                self.add(
                    (*path, "host"),
                    f"'host' names a host role{example}"
                    + (did_you_mean(name, hosts) if name else ""),
                )
        for sub, text in _strings(event.fields, (*path, "fields")):
            self.check_template(sub, text)
        if self.sensors is None:
            return
        sensor = self.sensors.get(event.sensor)
        if sensor is None:
            self.add(
                (*path, "sensor"),
                f"unknown sensor '{event.sensor}'"
                f"{did_you_mean(event.sensor, self.sensors)}",
            )
            return
        kinds = getattr(sensor, "kinds", {}) or {}
        kind = event.kind or getattr(sensor, "default_kind", "default")
        if kind not in kinds:
            self.add(
                (*path, "kind") if event.kind else (*path, "sensor"),
                f"sensor '{event.sensor}' has no kind '{kind}'"
                f"{did_you_mean(kind, kinds)}"
                + ("" if event.kind else f" (give one of: {', '.join(sorted(kinds))})"),
            )
            return
        allowed = sensor.field_names(kind)
        if allowed:
            for name in event.fields:
                if name not in allowed:
                    self.add(
                        (*path, "fields", name),
                        f"sensor '{event.sensor}' kind '{kind}' has no field "
                        f"'{name}'{did_you_mean(name, allowed)}",
                        key=True,
                    )

    def check_template(self, path: Path, text: str) -> None:
        for message in check_template(text, self.roles):
            self.add(path, message)

    def check_cycles(self) -> None:
        edges: dict[str, list[str]] = {sid: [] for sid in self.stage_ids}
        for stage in self.s.stages:
            if stage.after in edges and stage.after != stage.id:
                edges[stage.after].append(stage.id)
            target = stage.on_blocked.stage if stage.on_blocked else None
            if target in edges and target != stage.id:
                edges[stage.id].append(target)
        for cycle in _cycles(edges):
            index = self.stage_ids.index(cycle[0])
            self.add(
                ("stages", index),
                "stages form a cycle: " + " → ".join([*cycle, cycle[0]]),
            )

    def check_injects(self) -> None:
        for i, inject in enumerate(self.s.crisis):
            path = ("crisis", i)
            if (inject.at is None) == (inject.after is None):
                self.add(path, "a crisis inject needs either 'at' or 'after'")
            if inject.delay is not None and inject.after is None:
                self.add((*path, "delay"), "'delay' counts from 'after'", key=True)
            if inject.after is not None and inject.after not in self.stage_ids:
                self.add(
                    (*path, "after"),
                    f"unknown stage '{inject.after}'"
                    f"{did_you_mean(inject.after, self.stage_ids)}",
                )
            if inject.at is not None and inject.at > self.s.duration:
                self.add(
                    (*path, "at"),
                    f"at {format_duration(inject.at)} is after the end of the "
                    f"scenario (duration {format_duration(self.s.duration)})",
                )
            for key in ("from", "subject", "message"):
                text = getattr(inject, "sender" if key == "from" else key)
                if text:
                    self.check_template((*path, key), text)

    def check_event_budget(self) -> None:
        total = sum(stage_event_count(stage) for stage in self.s.stages)
        if total > MAX_EVENTS:
            self.add(
                ("stages",),
                f"the stages would write {total} events; the limit is {MAX_EVENTS}",
                key=True,
            )

    def check_text(self) -> None:
        data = self.s.model_dump(by_alias=True, exclude_none=True)
        for path, text in _strings(data, ()):
            if path[:2] == ("environment", "roles") and path[-1] == "value":
                continue  # fixed infrastructure has its own, stricter check
            if textscan.claims_real_emergency(text):
                self.add(path, "text must never claim 'this is not a drill'")
            for finding in textscan.unsafe_literals(
                text, str(path[-1]) if path else ""
            ):
                self.add(path, finding)
        for path in self.s.source.keys:
            if (
                path
                and isinstance(path[-1], str)
                and textscan.claims_real_emergency(path[-1])
            ):
                self.add(path, "text must never claim 'this is not a drill'", key=True)


def stage_event_count(stage: Stage) -> int:
    """How many events one firing of ``stage`` writes (before any containment)."""
    per_round = sum((e.repeat.count or 1) if e.repeat else 1 for e in stage.events)
    return per_round * stage_rounds(stage)


def stage_rounds(stage: Stage) -> int:
    """How many times the stage's event list is played."""
    if stage.duration is not None:
        every = stage.repeat.every if stage.repeat else 60.0
        return max(1, int(stage.duration // every)) if every > 0 else 1
    if stage.repeat is not None:
        return stage.repeat.count or 1
    return 1


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Each elementary cycle found by depth-first search, once, in a stable order."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt) :])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node)
    return found


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeio" else f"a {word}"  # "a user"


def _quoted(names: list[str]) -> str:
    return " or ".join(f"'{n}'" for n in names)
