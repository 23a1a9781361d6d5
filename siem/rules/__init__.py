"""The bundled Sigma rule pack: ``siem/rules/<area>/*.yml``, tests in ``tests/``.

Each rule is a plain Sigma rule with a unique ``id`` and ``name``. A test file
``tests/<rule name>.yml`` lists sample events (``positive:`` must match, ``negative:``
must not), each with a ``logsource`` and ``fields`` (optionally ``raw`` and ``host``).

API: :func:`rules_dir`, :func:`pack_files`, :func:`load_pack`,
:func:`load_pack_report`, :func:`rule_ids`, :func:`validate_pack`,
:func:`run_pack_tests`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from siem.sigma import LoadedRule, RuleError, RuleSet, load_rules
from simulator.events import Event

TESTS_FOLDER = "tests"
#: Sample events get this timestamp (2026-01-05 09:00 UTC) unless they say otherwise.
SAMPLE_TS = 1767603600.0


class PackError(RuleError):
    """The rule pack is broken; the message lists every problem."""


def rules_dir() -> Path:
    """Folder of the bundled rule pack."""
    return Path(__file__).resolve().parent


def pack_files(root: Path | None = None) -> list[Path]:
    """The pack's rule files (test files excluded)."""
    root = root or rules_dir()
    return sorted(
        p for p in root.rglob("*.yml") if TESTS_FOLDER not in p.relative_to(root).parts
    )


def load_pack_report(root: Path | None = None, *, dialect: str = "sqlite") -> RuleSet:
    """Load the pack, keeping failures as values (for ``rules validate``).

    ``dialect`` is the SQL of the store the rules will run on (``store.dialect``).
    """
    return load_rules(pack_files(root), dialect=dialect)


def load_pack(root: Path | None = None, *, dialect: str = "sqlite") -> list[LoadedRule]:
    """Every rule of the pack; :class:`PackError` if any rule does not load."""
    loaded = load_pack_report(root, dialect=dialect)
    if loaded.failures:
        raise PackError("invalid pack", "; ".join(str(f) for f in loaded.failures))
    return loaded.rules


def rule_ids(root: Path | None = None) -> set[str]:
    """Ids of the pack's rules."""
    return {rule.id for rule in load_pack(root)}


@dataclass(slots=True)
class ValidationReport:
    """Problems (errors) and remarks (warnings) found in the pack."""

    rules: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_pack(root: Path | None = None) -> ValidationReport:
    """Every rule loads, ids and names are unique, metadata and tests are present."""
    base = root or rules_dir()
    loaded = load_pack_report(base)
    report = ValidationReport(rules=len(loaded.rules))
    report.errors += [str(failure) for failure in loaded.failures]
    for kind, values in (
        ("id", [r.id for r in loaded.rules]),
        ("name", [r.name for r in loaded.rules if r.name]),
    ):
        for value, count in Counter(values).items():
            if count > 1:
                report.errors.append(f"{kind} {value!r} is used by {count} rules")
    tests = _test_files(base)
    names = {r.name for r in loaded.rules}
    for rule in loaded.rules:
        where = rule.path or rule.title
        if not rule.name:
            report.errors.append(f"{where}: no 'name' (tests refer to rules by name)")
        if not rule.techniques:
            report.warnings.append(f"{where}: no ATT&CK technique tag")
        if rule.name and rule.name not in tests:
            report.warnings.append(f"{where}: no test file {rule.name}.yml")
    for name, path in tests.items():
        if name not in names:
            report.errors.append(f"{path}: no rule named {name!r}")
    return report


@dataclass(slots=True, frozen=True)
class SampleOutcome:
    """One sample event's verdict."""

    rule: str
    kind: str  # "positive" | "negative"
    index: int
    matched: bool

    @property
    def ok(self) -> bool:
        return self.matched == (self.kind == "positive")


def run_pack_tests(
    root: Path | None = None, *, only: str | None = None
) -> list[SampleOutcome]:
    """Run each test file's samples through its rule; one outcome per sample."""
    from siem.detector import retro_hunt
    from siem.store import EventStore

    base = root or rules_dir()
    rules = {rule.name: rule for rule in load_pack(base) if rule.name}
    outcomes: list[SampleOutcome] = []
    for name, path in sorted(_test_files(base).items()):
        if only is not None and name != only:
            continue
        rule = rules.get(name)
        if rule is None:
            raise PackError("invalid test", f"{path}: no rule named {name!r}")
        samples = _samples(path)
        store = EventStore.open("sqlite://")
        try:
            span = store.insert(event for _, _, event in samples)
            matched = set(retro_hunt(store, [rule]).matches.get(rule.id, []))
        finally:
            store.close()
        for offset, (kind, index, _) in enumerate(samples):
            outcomes.append(
                SampleOutcome(name, kind, index, span.first + offset in matched)
            )
    return outcomes


def _test_files(base: Path) -> dict[str, Path]:
    folder = base / TESTS_FOLDER
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.yml"))}


def _samples(path: Path) -> list[tuple[str, int, Event]]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PackError("invalid test", f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise PackError("invalid test", f"{path}: expected positive:/negative: lists")
    out: list[tuple[str, int, Event]] = []
    for kind in ("positive", "negative"):
        for index, sample in enumerate(doc.get(kind) or []):
            out.append((kind, index, _sample_event(path, kind, index, sample)))
    if not any(kind == "positive" for kind, _, _ in out):
        raise PackError("invalid test", f"{path}: no positive sample")
    return out


def _sample_event(path: Path, kind: str, index: int, sample: Any) -> Event:
    where = f"{path}: {kind}[{index}]"
    if not isinstance(sample, dict) or not isinstance(sample.get("fields"), dict):
        raise PackError("invalid test", f"{where}: needs a 'fields' mapping")
    logsource = sample.get("logsource") or {}
    if not isinstance(logsource, dict):
        raise PackError("invalid test", f"{where}: 'logsource' must be a mapping")
    fields = sample["fields"]
    return Event(
        uid=f"{path.stem}-{kind}-{index}",
        ts=float(sample.get("ts", SAMPLE_TS)),
        sensor=str(sample.get("sensor", "sample")),
        host=str(sample.get("host", "sample-host")),
        product=logsource.get("product"),
        category=logsource.get("category"),
        service=logsource.get("service"),
        fields=fields,
        raw=str(sample.get("raw") or orjson.dumps(fields, default=str).decode()),
    )
