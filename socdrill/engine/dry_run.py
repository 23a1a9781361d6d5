"""Dry run: play a scenario at full speed into a scratch SIEM and report each stage.

Used before a real drill, from the console (``POST /api/v1/engine/dry-run``) and
from ``socdrill exercise dry-run``. The scenario is played through the same
:class:`~socdrill.engine.play.Play` the engine uses, with optional scripted
response actions at scenario offsets; every event is really ingested into a
private in-memory event store of a scratch tenant, and streaming detection runs
with the bundled rule pack. The report says, per stage, whether it fired, was
prevented or switched to its fallback, how many events it wrote and which alerts
they raised, next to the detections the scenario expects.

The script (:mod:`socdrill.engine.dry_run_script`) may also hold team actions —
acknowledgements, verdicts, ticket fields, reports, hunting findings, crisis
replies — and with ``score=True`` the report carries the score profile those actions
would earn (:mod:`socdrill.engine.dry_run_score`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scoring import InjectEvidence, ScoringInputError
from siem import alerts as siem_alerts
from siem.detector import Detector
from siem.sigma import LoadedRule
from siem.store import EventStore
from simulator.environment import Organisation
from simulator.events import parse_iso
from simulator.responses import ResponseError
from simulator.scenario import Scenario
from socdrill.engine import dry_run_score
from socdrill.engine.dry_run_score import DryAlert
from socdrill.engine.dry_run_script import (
    MAX_SCRIPT_BYTES,
    MAX_STEPS,
    DryRunError,
    Script,
    ScriptedResponse,
    parse_script,
    parse_script_text,
    responses_only,
)
from socdrill.engine.play import AppliedResponse, Play
from socdrill.engine.runtime import plain_bindings

__all__ = [
    "DryRunError",
    "DryRunReport",
    "Script",
    "ScriptedResponse",
    "StageReport",
    "dry_run",
    "parse_respond",
    "parse_respond_text",
]

SCRATCH_TENANT = "dry-run"
SCRATCH_EXERCISE = "dry-run"
DEFAULT_START = "2026-03-02T08:00:00Z"
# Older names, kept for callers that parse a bare list of responses.
MAX_RESPONSES = MAX_STEPS
MAX_RESPOND_BYTES = MAX_SCRIPT_BYTES


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
    score: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_respond(document: Any, *, source: str = "respond") -> Script:
    """The script of a dry run from parsed YAML/JSON; see
    :func:`socdrill.engine.dry_run_script.parse_script`."""
    return parse_script(document, source=source)


def parse_respond_text(text: str, *, source: str = "respond") -> Script:
    """:func:`parse_respond` for YAML text (a file's content)."""
    return parse_script_text(text, source=source)


def dry_run(
    scenario: Scenario,
    org: Organisation,
    seed: int,
    rules: Sequence[LoadedRule],
    script: Script | Sequence[ScriptedResponse] = (),
    *,
    start: str = DEFAULT_START,
    score: bool = False,
) -> DryRunReport:
    """Play ``scenario`` to its end into a scratch store and report every stage;
    with ``score``, add the profile the script's team actions would earn."""
    script = responses_only(script)
    origin = parse_iso(start)
    play = Play(scenario, org, seed, origin, uid_prefix="dry-")
    applied = []
    for response in script.responses:
        try:
            _, logs = play.apply(
                AppliedResponse(response.action, response.target, origin + response.at)
            )
        except ResponseError as error:
            raise DryRunError(
                f"response {response.action} {response.target} at "
                f"{dry_run_score.offset(response.at)}: {error}"
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
        evidence, event_count, alerts = _ingest_and_detect(play, rules, store)
    finally:
        store.close()
    report = _report(scenario, seed, play, event_count, alerts, applied, origin)
    if score:
        report.score = _score(scenario, seed, play, evidence, alerts, script, origin)
    return report


def _ingest_and_detect(
    play: Play, rules: Sequence[LoadedRule], store: EventStore
) -> tuple[list[InjectEvidence], int, list[DryAlert]]:
    """Write the played events and their labels, run detection to the end; the
    malicious labels as inject evidence, the number of events, the alerts."""
    fired = [o.stage for o in play.outcomes() if o.status == "fired"]
    pairs = list(play.stage_events(fired, -math.inf, math.inf))
    events = [event for event, _ in pairs] + play.response_logs(-math.inf, math.inf)
    events.sort(key=lambda e: (e.ts, e.uid))
    if events:
        store.insert(events, tenant=SCRATCH_TENANT, exercise=SCRATCH_EXERCISE)
        store.insert_labels([label for _, label in pairs], exercise=SCRATCH_EXERCISE)
    detector = Detector(store, rules, name="dry-run")
    while detector.tick().events:
        pass
    evidence = [
        InjectEvidence(label.stage, event.ts)
        for event, label in pairs
        if label.malicious
    ]
    return evidence, len(events), _alerts(store, rules)


def _report(
    scenario: Scenario,
    seed: int,
    play: Play,
    event_count: int,
    found: list[DryAlert],
    applied: list[dict[str, Any]],
    origin: float,
) -> DryRunReport:
    outcomes = play.outcomes()
    by_stage: dict[str, set[str]] = defaultdict(set)
    unlabelled: set[str] = set()
    for alert in found:
        if alert.stage is None:
            unlabelled.add(alert.rule)
        for stage in alert.stages:
            by_stage[stage].add(alert.rule)
    alert_count = len(found)
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
        events=event_count,
        alerts=alert_count,
        noise_alerts=sorted(unlabelled),
    )


def _alerts(store: EventStore, rules: Sequence[LoadedRule]) -> list[DryAlert]:
    """Every alert of the scratch store with its rule and the stage most of its
    labelled events belong to (None: raised on unlabelled events only)."""
    names = {rule.id: (rule.name or rule.title) for rule in rules}
    with store.connect() as conn:
        found = siem_alerts.list_alerts(conn, limit=100_000)
        members = (
            siem_alerts.alert_event_ids(conn, [a.id for a in found]) if found else {}
        )
        labels = dict(conn.exec_driver_sql("SELECT event_id, stage FROM labels").all())
    out = []
    for alert in found:
        stages = Counter(labels[e] for e in members.get(alert.id, []) if e in labels)
        out.append(
            DryAlert(
                id=alert.id,
                rule_id=alert.rule_id,
                rule=names.get(alert.rule_id, alert.rule_title),
                title=alert.rule_title,
                raised_at=parse_iso(alert.first_ts),
                stage=stages.most_common(1)[0][0] if stages else None,
                stages=frozenset(stages),
            )
        )
    return out


def _score(
    scenario: Scenario,
    seed: int,
    play: Play,
    evidence: list[InjectEvidence],
    alerts: list[DryAlert],
    script: Script,
    origin: float,
) -> dict[str, Any]:
    exercise = dry_run_score.scorer_input(
        scenario,
        seed,
        origin,
        play.outcomes(),
        evidence,
        alerts,
        play.timeline.injects(),
        plain_bindings(play.bindings),
        script.responses,
        script.actions,
        play.org.to_dict(),
    )
    try:
        return dry_run_score.score(exercise)
    except ScoringInputError as error:
        raise DryRunError(f"the script cannot be scored: {error}") from None
