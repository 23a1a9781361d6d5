"""Rule tuning: add an exception to a rule and replay it over stored events.

An exception is a Sigma selection (``{"Image|endswith": ["\\\\backup.exe"],
"User": "svc_backup"}``) that the rule's condition must not match:
``condition: (<original>) and not <exception>``. The tuned rule is loaded through
pySigma like any rule, so the exception may use every modifier. :func:`replay` runs
the original and the tuned rule over the stored events and reports what the
exception removes: alerts and events, and -- where ground truth exists -- how many
of the removed events were true or false positives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from siem.alerts import BUCKET_SECONDS
from siem.detector import retro_hunt
from siem.sigma import LoadedRule, RuleError, for_dialect, load_rule
from siem.store import EventStore

EXCEPTION_PREFIX = "filter_tuning"


@dataclass(slots=True, frozen=True)
class Outcome:
    """What a rule raises over the replayed range."""

    alerts: int
    events: int
    true_positives: int  # events labelled malicious
    false_positives: int  # every other matched event (labelled benign or noise)
    unlabelled: int


@dataclass(slots=True, frozen=True)
class TuningResult:
    """The rule before and after the exception."""

    rule_id: str
    before: Outcome
    after: Outcome

    @property
    def removed_events(self) -> int:
        return self.before.events - self.after.events

    @property
    def removed_true_positives(self) -> int:
        return self.before.true_positives - self.after.true_positives


def add_exception(rule: LoadedRule, exception: Mapping[str, Any]) -> LoadedRule:
    """The rule with ``exception`` (a Sigma selection) excluded from its condition.

    :class:`RuleError` if the exception is empty, not a mapping of field to
    value(s), or does not load as Sigma.
    """
    if rule.correlation is not None:
        raise RuleError("unsupported", "exceptions apply to detection rules only")
    if not isinstance(exception, Mapping) or not exception:
        raise RuleError("invalid exception", "an exception maps fields to values")
    for key, value in exception.items():
        if not isinstance(key, str) or not key:
            raise RuleError("invalid exception", f"bad field name {key!r}")
        if isinstance(value, Mapping):
            raise RuleError("invalid exception", f"{key}: expected a value or a list")
    doc = yaml.safe_load(rule.source)
    if not isinstance(doc, dict) or not isinstance(doc.get("detection"), dict):
        raise RuleError("invalid rule", "the rule's source has no detection block")
    detection = dict(doc["detection"])
    name = EXCEPTION_PREFIX
    index = 1
    while name in detection:
        index += 1
        name = f"{EXCEPTION_PREFIX}_{index}"
    detection[name] = dict(exception)
    condition = detection.get("condition")
    conditions = condition if isinstance(condition, list) else [condition]
    detection["condition"] = [f"({c}) and not {name}" for c in conditions]
    if not isinstance(condition, list):
        detection["condition"] = detection["condition"][0]
    doc["detection"] = detection
    return load_rule(
        yaml.safe_dump(doc, sort_keys=False), path=rule.path, dialect=rule.dialect
    )


def replay(
    store: EventStore,
    rule: LoadedRule,
    tuned: LoadedRule,
    *,
    start: float | str | None = None,
    end: float | str | None = None,
    bucket_seconds: int = BUCKET_SECONDS,
) -> TuningResult:
    """Run ``rule`` and ``tuned`` over stored events; compare what each raises.

    Rules loaded for another dialect than the store's are converted for it first.
    """
    rule, tuned = (for_dialect(r, store.dialect) for r in (rule, tuned))
    outcomes = []
    for candidate in (rule, tuned):
        hunt = retro_hunt(store, [candidate], start=start, end=end)
        ids = hunt.matches.get(candidate.id, [])
        outcomes.append(_outcome(store, ids, bucket_seconds))
    return TuningResult(rule.id, outcomes[0], outcomes[1])


def _outcome(store: EventStore, ids: list[int], bucket_seconds: int) -> Outcome:
    groups: set[tuple[str, str, str | None, int]] = set()
    for stored in store.get_many(ids):
        bucket = math.floor(stored.event.ts / bucket_seconds)
        groups.add((stored.tenant, stored.event.host.lower(), stored.exercise, bucket))
    labels = store.labels_for(ids)
    true_positives = sum(1 for malicious in labels.values() if malicious)
    # Ground truth labels scenario events; an unlabelled event is background
    # noise, so it counts as a false positive like an event labelled benign.
    return Outcome(
        alerts=len(groups),
        events=len(ids),
        true_positives=true_positives,
        false_positives=len(ids) - true_positives,
        unlabelled=len(ids) - len(labels),
    )
