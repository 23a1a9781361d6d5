"""Regression pairs: does a real rule fire on the real events recorded for it?

A pair is a folder with ``rule.yml`` (a Sigma rule, loaded unmodified), recorded
events (``events.evtx`` and/or ``events.json``) and ``info.yml`` whose
``regression_tests_info[].match_count`` says how many events the rule must match.

Scoring: a pair agrees when the rule matches at least ``match_count`` events (at
least one when the count is absent). "At least" because upstream counts sometimes
miss genuine matches (temporary ``.new`` or ``~RF….TMP`` copies of the same file
write); a missed detection still fails.

Each (pair, input format) runs in its own scratch in-memory store. The pooled mode
loads every pair's events into one store and runs every rule over all of them, to
show cross-pair hits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from siem.detector import retro_hunt
from siem.importers import LogImportError, import_file, read_events
from siem.sigma import LoadedRule, load_rules
from siem.store import EventStore

FORMATS = {"evtx": "events.evtx", "json": "events.json"}


class RegressionError(Exception):
    """The regression folder itself is unusable (missing, no pairs)."""


@dataclass(slots=True, frozen=True)
class PairResult:
    """Outcome of one pair in one input format."""

    name: str
    kind: str
    expected: int | None
    matched: int
    agrees: bool
    reason: str = ""

    def line(self) -> str:
        return f"{self.name} [{self.kind}]: {self.reason}"


@dataclass(slots=True)
class PooledRule:
    """One rule's view of the pooled store."""

    name: str
    own_matches: int
    expected: int | None
    other_pairs: dict[str, int] = field(default_factory=dict)

    @property
    def fired_on_own(self) -> bool:
        return self.own_matches >= max(self.expected or 1, 1)


def find_pairs(root: str | Path) -> list[Path]:
    """Folders under ``root`` holding a pair (rule.yml, info.yml, events)."""
    base = Path(root)
    if not base.is_dir():
        raise RegressionError(f"not a folder: {base}")
    pairs = [
        folder
        for folder in sorted(p.parent for p in base.rglob("rule.yml"))
        if (folder / "info.yml").is_file()
        and any((folder / name).is_file() for name in FORMATS.values())
    ]
    if not pairs:
        raise RegressionError(
            f"no regression pairs under {base} (folders with rule.yml, info.yml and "
            "events.evtx or events.json)"
        )
    return pairs


def expected_count(folder: Path) -> int | None:
    """``match_count`` of the first regression test in ``info.yml`` (None if absent)."""
    try:
        info = yaml.safe_load((folder / "info.yml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RegressionError(f"{folder / 'info.yml'}: invalid YAML: {exc}") from exc
    tests = info.get("regression_tests_info") or []
    for test in tests:
        if isinstance(test, dict) and test.get("match_count") is not None:
            return int(test["match_count"])
    return None


def run_pair(folder: Path, kind: str) -> PairResult:
    """Import one input format of a pair into a scratch store and score the rule."""
    name = folder.name
    expected = expected_count(folder)
    rule, problem = _rule(folder)
    if rule is None:
        return PairResult(name, kind, expected, 0, False, problem)
    store = EventStore.open("sqlite://")
    try:
        try:
            import_file(store, folder / FORMATS[kind])
        except LogImportError as exc:
            return PairResult(name, kind, expected, 0, False, f"import failed: {exc}")
        hunt = retro_hunt(store, [rule])
    finally:
        store.close()
    matched = len(hunt.matches.get(rule.id, []))
    return _score(name, kind, expected, matched)


def run_regression(
    root: str | Path, *, kinds: Iterable[str] = ("evtx", "json")
) -> list[PairResult]:
    """Every pair in every available format in ``kinds``."""
    results = []
    for folder in find_pairs(root):
        for kind in kinds:
            if (folder / FORMATS[kind]).is_file():
                results.append(run_pair(folder, kind))
    return results


def run_pooled(root: str | Path) -> list[PooledRule]:
    """All pairs' events in one store, every rule over all of them."""
    folders = find_pairs(root)
    store = EventStore.open("sqlite://")
    owners: dict[int, set[str]] = defaultdict(set)
    rules: dict[str, tuple[LoadedRule, int | None]] = {}
    out: list[PooledRule] = []
    try:
        for folder in folders:
            kind = "evtx" if (folder / FORMATS["evtx"]).is_file() else "json"
            events = list(read_events(folder / FORMATS[kind]))
            # pairs recorded on the same machine can share events: both own them
            store.insert(events, on_duplicate="ignore")
            for event_id in store.ids_for_uids(e.uid for e in events).values():
                owners[event_id].add(folder.name)
            rule, problem = _rule(folder)
            if rule is None:
                out.append(PooledRule(folder.name, 0, expected_count(folder)))
                continue
            rules[folder.name] = (rule, expected_count(folder))
        hunt = retro_hunt(store, [rule for rule, _ in rules.values()])
    finally:
        store.close()
    for name, (rule, expected) in rules.items():
        counts: dict[str, int] = defaultdict(int)
        for event_id in hunt.matches.get(rule.id, []):
            for pair in owners[event_id]:
                counts[pair] += 1
        own = counts.pop(name, 0)
        out.append(PooledRule(name, own, expected, dict(sorted(counts.items()))))
    return sorted(out, key=lambda r: r.name)


def _rule(folder: Path) -> tuple[LoadedRule | None, str]:
    loaded = load_rules([folder / "rule.yml"])
    if loaded.failures:
        failure = loaded.failures[0]
        return None, f"rule not loaded: {failure.reason}: {failure.message}"
    if len(loaded.rules) != 1:
        return None, f"rule.yml holds {len(loaded.rules)} rules, expected one"
    return loaded.rules[0], ""


def _score(name: str, kind: str, expected: int | None, matched: int) -> PairResult:
    need = 1 if expected is None else expected
    if matched >= need:
        return PairResult(name, kind, expected, matched, True)
    if matched == 0:
        reason = "rule did not fire" + (
            f" (expected {expected} matches)" if expected else ""
        )
    else:
        reason = f"matched {matched} events, expected at least {expected}"
    return PairResult(name, kind, expected, matched, False, reason)
