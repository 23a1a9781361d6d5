"""The scripted team of a dry run: what ``--respond`` may say, parsed and checked.

A script is a list of steps at scenario offsets, each with exactly one action:

- a **response action** naming a role or a value:
  ``{at: 20m, isolate_host: victim_ws}``;
- ``ack`` / ``verdict``: alerts raised by then, chosen by rule or by stage —
  ``{at: 12m, ack: office-spawns-powershell}``,
  ``{at: 14m, verdict: {rule: office-spawns-powershell, verdict: tp}}``,
  ``{at: 15m, verdict: {stage: delivery, verdict: fp}}`` (``all`` selects every alert);
- ``ticket``: an incident ticket's fields, ``id`` naming the ticket —
  ``{at: 25m, ticket: {id: INC-1, severity: P1, assets: [victim_ws], ...}}``; role
  names in ``assets`` and ``iocs`` stand for their bound values, ``alerts`` takes
  the same selectors as ``ack``;
- ``report_sent``: the ticket sent to the customer, ``{at: 30m, report_sent: INC-1}``;
- ``hunt_finding``: entities or IoCs asserted malicious, ``{at: 40m, hunt_finding:
  [c2_domain]}``;
- ``crisis_reply``: the answer to a crisis message, ``{at: 95m, crisis_reply:
  cfo-call}``.

``by: name`` says who acts (default ``analyst``). Every mistake is a
:class:`DryRunError` naming the step and what to change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from scoring.model import (
    TICKET_FIELDS,
    TICKET_LIST_FIELDS,
    TICKET_TEXT_FIELDS,
    VERDICTS,
)
from simulator import vocabulary
from simulator.scenario.durations import DurationError, parse_duration
from simulator.scenario.problems import did_you_mean

MAX_STEPS = 200
MAX_SCRIPT_BYTES = 64 * 1024
MAX_TEXT = 4000
DEFAULT_ACTOR = "analyst"
ACTOR = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
TICKET_ID = re.compile(r"^[A-Za-z0-9._:-]{1,40}$")
TEAM_ACTIONS = (
    "ack",
    "verdict",
    "ticket",
    "report_sent",
    "hunt_finding",
    "crisis_reply",
)
SEVERITIES = (*vocabulary.TIERS, "critical", "high", "medium", "low")


class DryRunError(ValueError):
    """The dry run cannot start as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """A response action at a scenario offset; ``target`` is a role or a value."""

    at: float
    action: str
    target: str
    actor: str = DEFAULT_ACTOR


@dataclass(frozen=True, slots=True)
class AlertSelector:
    """Alerts chosen by rule (name, title or id) and/or stage; neither: all."""

    rule: str | None = None
    stage: str | None = None

    def describe(self) -> str:
        parts = [f"rule {self.rule}"] if self.rule else []
        parts += [f"stage {self.stage}"] if self.stage else []
        return " and ".join(parts) or "any rule"


@dataclass(frozen=True, slots=True)
class ScriptedAction:
    """A team action at a scenario offset (``kind`` is one of TEAM_ACTIONS)."""

    at: float
    kind: str
    actor: str
    where: str  # "respond[3]", for messages
    alerts: AlertSelector | None = None
    verdict: str | None = None
    ticket: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Script:
    """Response actions (they change the attack) and team actions (they score)."""

    responses: tuple[ScriptedResponse, ...] = ()
    actions: tuple[ScriptedAction, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.responses or self.actions)


def parse_script(document: Any, *, source: str = "respond") -> Script:
    """A :class:`Script` from parsed YAML/JSON (a list of steps)."""
    if document is None:
        return Script()
    if not isinstance(document, list):
        raise DryRunError(f"{source}: expected a list of {{at: ..., action: target}}")
    if len(document) > MAX_STEPS:
        raise DryRunError(f"{source}: at most {MAX_STEPS} steps")
    responses: list[ScriptedResponse] = []
    actions: list[ScriptedAction] = []
    for index, item in enumerate(document):
        where = f"{source}[{index}]"
        at, actor, kind, value = _step(item, where)
        if kind in vocabulary.RESPONSE_ACTIONS:
            if not isinstance(value, str) or not value.strip():
                raise DryRunError(f"{where}.{kind}: name a role or a value")
            responses.append(ScriptedResponse(at, kind, value.strip(), actor))
        else:
            actions.append(_team_action(at, actor, kind, value, where))
    return Script(
        tuple(sorted(responses, key=lambda r: r.at)),
        tuple(sorted(actions, key=lambda a: a.at)),
    )


def parse_script_text(text: str, *, source: str = "respond") -> Script:
    """:func:`parse_script` for YAML text (a file's content)."""
    if len(text.encode()) > MAX_SCRIPT_BYTES:
        raise DryRunError(f"{source}: larger than {MAX_SCRIPT_BYTES // 1024} KiB")
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise DryRunError(f"{source}: not valid YAML ({error})") from None
    return parse_script(document, source=source)


def _step(item: Any, where: str) -> tuple[float, str, str, Any]:
    if not isinstance(item, dict):
        raise DryRunError(f"{where}: expected a mapping like {{at: 20m, ...}}")
    if "at" not in item:
        raise DryRunError(f"{where}: 'at' (a scenario offset such as 20m) is missing")
    try:
        at = parse_duration(item["at"])
    except DurationError as error:
        raise DryRunError(f"{where}.at: {error}") from None
    actor = item.get("by", DEFAULT_ACTOR)
    if not isinstance(actor, str) or not ACTOR.match(actor):
        raise DryRunError(
            f"{where}.by: 1-40 letters, digits, '.', '_' or '-' naming who acts"
        )
    keys = [key for key in item if key not in ("at", "by")]
    if len(keys) != 1:
        raise DryRunError(f"{where}: give exactly one action besides 'at' and 'by'")
    kind = str(keys[0])
    known = (*vocabulary.RESPONSE_ACTIONS, *TEAM_ACTIONS)
    if kind not in known:
        raise DryRunError(
            f"{where}: unknown action {kind!r}{did_you_mean(kind, known)}"
        )
    return at, actor, kind, item[keys[0]]


def _team_action(
    at: float, actor: str, kind: str, value: Any, where: str
) -> ScriptedAction:
    path = f"{where}.{kind}"
    if kind == "ack":
        return ScriptedAction(at, kind, actor, where, alerts=_selector(value, path))
    if kind == "verdict":
        if not isinstance(value, dict) or "verdict" not in value:
            raise DryRunError(f"{path}: expected {{rule: ..., verdict: tp}}")
        verdict = value["verdict"]
        if verdict not in VERDICTS:
            raise DryRunError(
                f"{path}.verdict: one of {', '.join(VERDICTS)}, not {verdict!r}"
            )
        rest = {k: v for k, v in value.items() if k != "verdict"}
        return ScriptedAction(
            at, kind, actor, where, alerts=_selector(rest, path), verdict=verdict
        )
    if kind == "ticket":
        ticket, fields = _ticket(value, path)
        return ScriptedAction(at, kind, actor, where, ticket=ticket, fields=fields)
    if kind == "report_sent":
        return ScriptedAction(at, kind, actor, where, ticket=_ticket_id(value, path))
    if kind == "crisis_reply":
        if not isinstance(value, str) or not value.strip():
            raise DryRunError(f"{path}: name the crisis message (its id)")
        return ScriptedAction(at, kind, actor, where, targets=(value.strip(),))
    # hunt_finding
    names = [value] if isinstance(value, str) else value
    if not _strings(names) or not names:
        raise DryRunError(f"{path}: name roles or values (a list of text)")
    return ScriptedAction(at, kind, actor, where, targets=tuple(names))


def _selector(value: Any, path: str) -> AlertSelector:
    if value == "all" or value == {}:
        return AlertSelector()
    if isinstance(value, str) and value.strip():
        return AlertSelector(rule=value.strip())
    if isinstance(value, dict):
        unknown = set(value) - {"rule", "stage"}
        if unknown:
            name = str(sorted(unknown)[0])
            raise DryRunError(
                f"{path}: unknown key {name!r}{did_you_mean(name, ('rule', 'stage'))}"
            )
        for key in ("rule", "stage"):
            if key in value and (not isinstance(value[key], str) or not value[key]):
                raise DryRunError(f"{path}.{key}: expected a name")
        return AlertSelector(rule=value.get("rule"), stage=value.get("stage"))
    raise DryRunError(f"{path}: a rule name, {{rule: ..}}, {{stage: ..}} or 'all'")


def _ticket_id(value: Any, path: str) -> str:
    if not isinstance(value, str) or not TICKET_ID.match(value):
        raise DryRunError(f"{path}: a ticket id such as INC-1")
    return value


def _ticket(value: Any, path: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(value, dict) or "id" not in value:
        raise DryRunError(f"{path}: expected {{id: INC-1, <field>: ...}}")
    ticket = _ticket_id(value["id"], f"{path}.id")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if key == "id":
            continue
        name = str(key)
        if name not in TICKET_FIELDS:
            raise DryRunError(
                f"{path}: unknown ticket field {name!r}"
                f"{did_you_mean(name, TICKET_FIELDS)}"
            )
        if name in TICKET_LIST_FIELDS:
            if name == "alerts":
                items = item if isinstance(item, list) else [item]
                fields[name] = [_selector(i, f"{path}.alerts") for i in items]
                continue
            if not isinstance(item, list) or not _strings(item):
                raise DryRunError(f"{path}.{name}: expected a list of text")
            fields[name] = list(item)
        elif name in TICKET_TEXT_FIELDS:
            if not isinstance(item, str) or len(item) > MAX_TEXT:
                raise DryRunError(f"{path}.{name}: text of at most {MAX_TEXT} chars")
            fields[name] = item
        else:  # severity
            if item not in SEVERITIES:
                raise DryRunError(
                    f"{path}.severity: one of {', '.join(SEVERITIES)}, not {item!r}"
                )
            fields[name] = item
    if not fields:
        raise DryRunError(f"{path}: set at least one field besides id")
    return ticket, fields


def _strings(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(i, str) and i.strip() and len(i) <= 200 for i in items
    )


def responses_only(script: Script | Sequence[ScriptedResponse]) -> Script:
    """A script from a bare list of responses (older callers), or the script."""
    if isinstance(script, Script):
        return script
    return Script(tuple(script), ())
