"""Dry run: play a scenario at full speed into a scratch SIEM and report each stage.

Used before a real drill, from the console (``POST /api/v1/engine/dry-run``) and
from ``socdrill exercise dry-run``. The scenario is played through the same
:class:`~socdrill.engine.play.Play` the engine uses, with optional scripted
response actions at scenario offsets; every event is really ingested into a
private in-memory event store of a scratch tenant, and streaming detection runs
with the bundled rule pack. The report says, per stage, whether it fired, was
prevented or switched to its fallback, how many events it wrote and which alerts
they raised, next to the detections the scenario expects.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from siem import alerts as siem_alerts
from siem.detector import Detector
from siem.sigma import LoadedRule
from siem.store import EventStore
from simulator import vocabulary
from simulator.environment import Organisation
from simulator.events import parse_iso
from simulator.responses import ResponseError
from simulator.scenario import Scenario
from simulator.scenario.durations import DurationError, parse_duration
from simulator.scenario.problems import did_you_mean
from socdrill.engine.play import AppliedResponse, Play
from socdrill.engine.runtime import plain_bindings

SCRATCH_TENANT = "dry-run"
SCRATCH_EXERCISE = "dry-run"
DEFAULT_START = "2026-03-02T08:00:00Z"
MAX_RESPONSES = 200
MAX_RESPOND_BYTES = 64 * 1024


class DryRunError(ValueError):
    """The dry run cannot start as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """A response action at a scenario offset; ``target`` is a role or a value."""

    at: float
    action: str
    target: str


@dataclass
class StageReport:
    stage: str
    status: str
    due: float  # scenario seconds
    technique: str
    tier: str
    events: int
    reason: str = ""
    fallback: str | None = None
    contained_at: float | None = None
    alerts: list[str] = field(default_factory=list)  # rule names (or titles)
    expected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # expected, not raised


@dataclass
class DryRunReport:
    scenario: str
    seed: int
    bindings: dict[str, str]
    stages: list[StageReport]
    responses: list[dict[str, Any]]
    crisis: list[dict[str, Any]]
    events: int
    alerts: int
    noise_alerts: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_respond(document: Any, *, source: str = "respond") -> list[ScriptedResponse]:
    """Scripted responses from parsed YAML/JSON: a list of ``{at, <action>: target}``.

    Example: ``[{at: 20m, isolate_host: victim_ws}, {at: 25m, block_ip: c2}]``.
    """
    if document is None:
        return []
    if not isinstance(document, list):
        raise DryRunError(f"{source}: expected a list of {{at: ..., action: target}}")
    if len(document) > MAX_RESPONSES:
        raise DryRunError(f"{source}: at most {MAX_RESPONSES} response actions")
    found = []
    for index, item in enumerate(document):
        where = f"{source}[{index}]"
        if not isinstance(item, dict):
            raise DryRunError(f"{where}: expected a mapping like {{at: 20m, ...}}")
        if "at" not in item:
            raise DryRunError(
                f"{where}: 'at' (a scenario offset such as 20m) is missing"
            )
        try:
            at = parse_duration(item["at"])
        except DurationError as error:
            raise DryRunError(f"{where}.at: {error}") from None
        actions = [key for key in item if key != "at"]
        if len(actions) != 1:
            raise DryRunError(f"{where}: give exactly one action besides 'at'")
        action = str(actions[0])
        if action not in vocabulary.RESPONSE_ACTIONS:
            raise DryRunError(
                f"{where}: unknown response action {action!r}"
                f"{did_you_mean(action, vocabulary.RESPONSE_ACTIONS)}"
            )
        target = item[actions[0]]
        if not isinstance(target, str) or not target.strip():
            raise DryRunError(f"{where}.{action}: name a role or a value")
        found.append(ScriptedResponse(at, action, target.strip()))
    return sorted(found, key=lambda r: r.at)


def parse_respond_text(text: str, *, source: str = "respond") -> list[ScriptedResponse]:
    """:func:`parse_respond` for YAML text (a file's content)."""
    if len(text.encode()) > MAX_RESPOND_BYTES:
        raise DryRunError(f"{source}: larger than {MAX_RESPOND_BYTES // 1024} KiB")
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise DryRunError(f"{source}: not valid YAML ({error})") from None
    return parse_respond(document, source=source)


def dry_run(
    scenario: Scenario,
    org: Organisation,
    seed: int,
    rules: Sequence[LoadedRule],
    responses: Sequence[ScriptedResponse] = (),
    *,
    start: str = DEFAULT_START,
) -> DryRunReport:
    """Play ``scenario`` to its end into a scratch store and report every stage."""
    origin = parse_iso(start)
    play = Play(scenario, org, seed, origin, uid_prefix="dry-")
    applied = []
    for response in responses:
        try:
            _, logs = play.apply(
                AppliedResponse(response.action, response.target, origin + response.at)
            )
        except ResponseError as error:
            raise DryRunError(
                f"response {response.action} {response.target} at "
                f"{_offset(response.at)}: {error}"
            ) from None
        applied.append(
            {
                "at": response.at,
                "action": response.action,
                "target": response.target,
                "value": plain_bindings(
                    {"t": play.bindings.get(response.target, response.target)}
                )["t"],
                "logs": len(logs),
            }
        )
    play.advance(math.inf)
    store = EventStore.open("sqlite://")
    try:
        return _ingest_and_report(scenario, seed, play, rules, store, applied, origin)
    finally:
        store.close()


def _ingest_and_report(
    scenario: Scenario,
    seed: int,
    play: Play,
    rules: Sequence[LoadedRule],
    store: EventStore,
    applied: list[dict[str, Any]],
    origin: float,
) -> DryRunReport:
    outcomes = play.outcomes()
    stage_ids = [o.stage for o in outcomes if o.status == "fired"]
    pairs = list(play.stage_events(stage_ids, -math.inf, math.inf))
    events = [event for event, _ in pairs] + play.response_logs(-math.inf, math.inf)
    events.sort(key=lambda e: (e.ts, e.uid))
    if events:
        store.insert(events, tenant=SCRATCH_TENANT, exercise=SCRATCH_EXERCISE)
        store.insert_labels([label for _, label in pairs], exercise=SCRATCH_EXERCISE)
    detector = Detector(store, rules, name="dry-run")
    while detector.tick().events:
        pass
    names = {rule.id: (rule.name or rule.title) for rule in rules}
    by_stage, unlabelled, alert_count = _alerts_by_stage(store, names)
    expected = {stage.id: list(stage.expect.detections) for stage in scenario.stages}
    stages = []
    for outcome in outcomes:
        raised = sorted(by_stage.get(outcome.stage, set()))
        wanted = expected.get(outcome.stage, [])
        stages.append(
            StageReport(
                stage=outcome.stage,
                status=outcome.status,
                due=round(outcome.due - origin, 3),
                technique=outcome.technique,
                tier=outcome.tier,
                events=len(outcome.events) if outcome.status == "fired" else 0,
                reason=outcome.reason,
                fallback=outcome.fallback,
                contained_at=(
                    round(outcome.contained_at - origin, 3)
                    if outcome.contained_at is not None
                    else None
                ),
                alerts=raised,
                expected=wanted,
                missing=[
                    name
                    for name in wanted
                    if outcome.status == "fired" and name not in raised
                ],
            )
        )
    crisis = [
        {
            "id": inject.id,
            "due": round(inject.due - origin, 3),
            "channel": inject.channel,
            "from": inject.sender,
        }
        for inject in play.timeline.injects()
    ]
    return DryRunReport(
        scenario=scenario.id,
        seed=seed,
        bindings=plain_bindings(play.bindings),
        stages=stages,
        responses=applied,
        crisis=crisis,
        events=len(events),
        alerts=alert_count,
        noise_alerts=sorted(unlabelled),
    )


def _alerts_by_stage(
    store: EventStore, names: dict[str, str]
) -> tuple[dict[str, set[str]], set[str], int]:
    """Rule names per stage (from the labels of each alert's events), the rules
    that fired on unlabelled events, and the number of alerts."""
    by_stage: dict[str, set[str]] = defaultdict(set)
    unlabelled: set[str] = set()
    with store.connect() as conn:
        found = siem_alerts.list_alerts(conn, limit=100_000)
        ids = [alert.id for alert in found]
        members = siem_alerts.alert_event_ids(conn, ids) if ids else {}
        labels = dict(conn.exec_driver_sql("SELECT event_id, stage FROM labels").all())
    for alert in found:
        name = names.get(alert.rule_id, alert.rule_title)
        stages = {labels[e] for e in members.get(alert.id, []) if e in labels}
        for stage in stages:
            by_stage[stage].add(name)
        if not stages:
            unlabelled.add(name)
    return by_stage, unlabelled, len(found)


def _offset(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"+{minutes}m{rest:02d}s"
