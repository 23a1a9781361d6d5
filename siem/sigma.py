"""Sigma rules as SQL over the event store, through pySigma and its SQLite backend.

:class:`EventStoreBackend` is a small subclass of pysigma-backend-sqlite that emits a
WHERE fragment over ``events`` instead of a whole query: a field with a generated
column renders as that column, any other field as ``json_extract(fields, ...)``,
keywords (value-only detections) match ``raw``, numeric comparisons accept JSON
numbers and numeric strings, and string equality is case-insensitive everywhere.

:func:`load_rules` turns YAML (texts or files) into :class:`LoadedRule` objects and
reports every rule it cannot use as a :class:`RuleFailure` with a reason code and the
reason, instead of raising: one bad rule never stops the others.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import yaml
from sigma.backends.sqlite import sqliteBackend
from sigma.backends.sqlite.correlation import numeric
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaModifierError,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from siem.fields import GENERATED_FIELDS, Dialect, field_sql
from siem.logsources import applies, unknown_parts
from siem.prefilter import NeedClause, required_needs

#: Severity order of Sigma levels (index = rank).
LEVELS: tuple[str, ...] = ("informational", "low", "medium", "high", "critical")

# libyaml when present: YAML parsing dominates loading a large corpus otherwise.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Relation correlation queries read; the detector fills it with a time window.
CORRELATION_TABLE = "sigma_window"

_TECHNIQUE = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)
_TACTICS = frozenset(
    [
        "reconnaissance",
        "resource-development",
        "initial-access",
        "execution",
        "persistence",
        "privilege-escalation",
        "defense-evasion",
        "credential-access",
        "discovery",
        "lateral-movement",
        "collection",
        "command-and-control",
        "exfiltration",
        "impact",
    ]
)


class RuleError(Exception):
    """A rule could not be loaded: ``reason`` is a short code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# ---------------------------------------------------------------------------
# the backend


class EventStoreBackend(sqliteBackend):
    """pysigma-backend-sqlite rendering fragments over the ``events`` table."""

    name: ClassVar[str] = "socdrill event store"
    identifier: ClassVar[str] = "socdrill"
    #: SQL dialect of the fragments (a subclass renders another one)
    dialect: ClassVar[Dialect] = "sqlite"

    def __init__(self, **options: Any) -> None:
        super().__init__(
            table=CORRELATION_TABLE,
            timestamp_field="ts",
            event_id_field="id",
            fulltext_field="raw",
            # Sigma equality is case-insensitive; generated text columns are NOCASE
            # already, json_extract values are not.
            collate_nocase=True,
            **options,
        )

    # Rule fields: a generated column or json_extract. Identifiers the backend needs
    # (table, timestamp, full-text column) are resolved by the overrides below, so
    # a rule field that happens to be named like a base column is still a field.
    def escape_and_quote_field(self, field_name: str) -> str:
        return field_sql(field_name)

    def resolve_table(self, state: Any = None) -> str:
        return CORRELATION_TABLE

    def _fulltext_column(self) -> str:
        return "raw"

    def _correlation_timestamp(self) -> str:
        return self.timestamp_seconds_expression.format(field="ts")

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``field = 4624``, also matching the JSON string ``"4624"``.

        Generated columns convert by affinity; a ``json_extract`` value has none, so
        both spellings are compared.
        """
        expr = field_sql(cond.field)
        number = str(cond.value)
        if cond.field in GENERATED_FIELDS:
            return f"{expr}={number}"
        return f"({expr}={number} OR {expr}='{number}')"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|gt`` and friends on the numeric value, whether stored as number or text.

        Text never compares below a number in SQLite, so without the conversion
        ``"80" < 1024`` would be false.
        """
        value = cond.value
        if isinstance(value, SigmaCompareExpression) and not hasattr(
            value.number, "timestamp_part"
        ):
            return self.compare_op_expression.format(
                field=numeric(field_sql(cond.field)),
                operator=self.compare_operators[value.op],
                value=value.number,
            )
        return super().convert_condition_field_compare_op_val(cond, state)

    def finalize_query_default(
        self, rule: Any, query: str, index: int, state: ConversionState
    ) -> Any:
        # Detection rules: the bare condition, parenthesised by the caller.
        # Correlation rules: the complete query over CORRELATION_TABLE.
        return query


# ---------------------------------------------------------------------------
# loaded rules


@dataclass(slots=True, frozen=True)
class CorrelationSpec:
    """What the detector needs to evaluate a correlation rule over a time window."""

    type: str
    timespan_seconds: float
    group_by: tuple[str, ...]
    query: str
    #: generated or JSON fields the window relation must expose as columns
    columns: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class LoadedRule:
    """A Sigma rule ready to run: metadata, logsource and its SQL fragment."""

    id: str
    title: str
    level: str
    status: str | None
    #: the rule's Sigma ``name`` (for references and test files); "" when unset
    name: str
    description: str
    author: str
    references: tuple[str, ...]
    tags: tuple[str, ...]
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    falsepositives: tuple[str, ...]
    product: str | None
    category: str | None
    service: str | None
    #: parenthesised WHERE fragment over ``events`` ("" for correlation rules)
    fragment: str
    source: str
    path: str | None = None
    correlation: CorrelationSpec | None = None
    #: words an event must contain for the rule to match, as clauses: every clause
    #: needs one of its literals (lower-cased) in the event; () = no such knowledge
    requirements: tuple[tuple[str, ...], ...] = ()
    #: the rule has value-only (keyword) detections, matched against ``raw``
    uses_keywords: bool = False
    #: field-aware required literals for the detector's pre-filter (siem.prefilter)
    needs: tuple[NeedClause, ...] = ()
    #: SQL dialect of ``fragment`` (the store it was loaded for)
    dialect: Dialect = "sqlite"

    @property
    def logsource(self) -> dict[str, str]:
        """The rule's logsource keys that are set."""
        keys = {
            "product": self.product,
            "category": self.category,
            "service": self.service,
        }
        return {k: v for k, v in keys.items() if v is not None}

    @property
    def severity(self) -> int:
        """Rank of the level: 0 informational … 4 critical."""
        return LEVELS.index(self.level) if self.level in LEVELS else 2

    def applies_to(self, product: str, category: str, service: str) -> bool:
        """Does the rule's logsource cover events stored with this triple?"""
        return applies(
            (self.product, self.category, self.service), (product, category, service)
        )


@dataclass(slots=True, frozen=True)
class RuleFailure:
    """A rule that was not loaded: where, which, the reason code and the detail."""

    path: str | None
    title: str
    rule_id: str
    reason: str
    message: str

    def __str__(self) -> str:
        where = self.path or self.title or self.rule_id or "rule"
        return f"{where}: {self.reason}: {self.message}"


@dataclass(slots=True)
class RuleSet:
    """The result of loading: the usable rules and the failures, in input order."""

    rules: list[LoadedRule] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)

    def by_id(self) -> dict[str, LoadedRule]:
        return {rule.id: rule for rule in self.rules}


# ---------------------------------------------------------------------------
# loading


def backend_for(dialect: Dialect = "sqlite") -> EventStoreBackend:
    """The backend rendering rules for a store of ``dialect``."""
    if dialect == "postgresql":
        from siem.sigma_postgres import PostgresEventStoreBackend

        return PostgresEventStoreBackend()
    return EventStoreBackend()


def load_rules(
    sources: Iterable[str | Path],
    *,
    check_sql: bool = True,
    dialect: Dialect = "sqlite",
) -> RuleSet:
    """Load Sigma rules from YAML texts or paths (files, or folders searched for *.yml).

    Correlation rules are resolved against every rule loaded in the same call. Each
    rule that cannot be used becomes a :class:`RuleFailure`; nothing raises for a bad
    rule. ``check_sql`` prepares each fragment against an empty store schema so that
    SQL errors surface at load time rather than at detection time (SQLite only).
    ``dialect`` is the SQL of the store the rules will run on (``store.dialect``).
    """
    documents: list[tuple[str | None, str, dict[str, Any]]] = []
    result = RuleSet()
    for path, text in _texts(sources):
        try:
            for doc in yaml.load_all(text, Loader=_YAML_LOADER):
                if doc is None:
                    continue
                if not isinstance(doc, dict):
                    raise RuleError("invalid rule", "a rule must be a YAML mapping")
                documents.append((path, text, doc))
        except (yaml.YAMLError, RuleError) as exc:
            result.failures.append(
                RuleFailure(path, "", "", "invalid yaml", _one_line(exc))
            )
    backend = backend_for(dialect)
    check_sql = check_sql and dialect == "sqlite"
    plain = [d for d in documents if "correlation" not in d[2]]
    correlations = [d for d in documents if "correlation" in d[2]]
    parsed: dict[int, SigmaRule] = {}
    for index, (path, text, doc) in enumerate(plain):
        try:
            rule = SigmaRule.from_dict(doc)
            parsed[index] = rule
            result.rules.append(_load_detection(backend, rule, path, text, check_sql))
        except RuleError as exc:
            result.failures.append(_failure(path, doc, exc.reason, str(exc)))
        except SigmaError as exc:
            reason = _reason(exc)
            result.failures.append(_failure(path, doc, reason, _one_line(exc)))
    for path, text, doc in correlations:
        try:
            result.rules.append(
                _load_correlation(backend, doc, list(parsed.values()), path, text)
            )
        except RuleError as exc:
            result.failures.append(_failure(path, doc, exc.reason, str(exc)))
        except SigmaError as exc:
            result.failures.append(_failure(path, doc, _reason(exc), _one_line(exc)))
    return result


def load_rule(
    text: str, *, path: str | None = None, dialect: Dialect = "sqlite"
) -> LoadedRule:
    """Load exactly one detection rule from YAML text; :class:`RuleError` if not."""
    loaded = load_rules([text], dialect=dialect)
    if loaded.failures:
        failure = loaded.failures[0]
        raise RuleError(failure.reason, failure.message)
    if len(loaded.rules) != 1:
        raise RuleError("invalid rule", f"expected one rule, found {len(loaded.rules)}")
    rule = loaded.rules[0]
    return rule if path is None else _with_path(rule, path)


def for_dialect(rule: LoadedRule, dialect: Dialect) -> LoadedRule:
    """``rule`` with its SQL in ``dialect``, converted again from its source if needed.

    Correlation queries are SQLite on every store (see :mod:`siem.correlation`), so a
    correlation rule only changes its label. :class:`RuleError` if the source no
    longer converts.
    """
    if rule.dialect == dialect:
        return rule
    if rule.correlation is not None:
        return replace(rule, dialect=dialect)
    loaded = load_rules([rule.source], dialect=dialect)
    for candidate in loaded.rules:
        if candidate.id == rule.id:
            return replace(candidate, path=rule.path)
    reason = loaded.failures[0] if loaded.failures else None
    raise RuleError(
        reason.reason if reason else "invalid rule",
        f"{rule.id} does not convert to {dialect}"
        + (f": {reason.message}" if reason else ""),
    )


def _with_path(rule: LoadedRule, path: str) -> LoadedRule:
    return replace(rule, path=path)


def _texts(sources: Iterable[str | Path]) -> Iterator[tuple[str | None, str]]:
    for source in sources:
        if isinstance(source, Path):
            files = sorted(source.rglob("*.yml")) if source.is_dir() else [source]
            for file in files:
                yield str(file), file.read_text(encoding="utf-8")
        else:
            yield None, source


def _load_detection(
    backend: EventStoreBackend,
    rule: SigmaRule,
    path: str | None,
    text: str,
    check_sql: bool,
) -> LoadedRule:
    logsource = rule.logsource
    unknown = unknown_parts(logsource.product, logsource.category, logsource.service)
    if unknown:
        raise RuleError("unknown logsource", ", ".join(unknown))
    _check_regexes(rule)
    queries = backend.convert_rule(rule)
    if not queries:
        raise RuleError("unsupported", "the rule converted to no query")
    fragment = " OR ".join(f"({q})" for q in queries)
    fragment = f"({fragment})" if len(queries) > 1 else fragment
    if check_sql:
        _check_fragment(fragment)
    conditions = [c.parsed for c in rule.detection.parsed_condition]
    return replace(
        _loaded(rule, path, text, fragment),
        requirements=required_literals(conditions),
        uses_keywords=any(_has_keywords(c) for c in conditions),
        needs=required_needs(conditions),
        dialect=backend.dialect,
    )


def _load_correlation(
    backend: EventStoreBackend,
    doc: dict[str, Any],
    rules: list[SigmaRule],
    path: str | None,
    text: str,
) -> LoadedRule:
    collection = SigmaCollection([*rules])
    try:
        correlation = SigmaCorrelationRule.from_dict(doc)
        collection.rules.append(correlation)
        collection.resolve_rule_references()
    except SigmaError as exc:
        raise RuleError("correlation without base rules", _one_line(exc)) from exc
    for ref in correlation.rules:
        if not isinstance(ref.rule, SigmaRule | SigmaCorrelationRule):
            raise RuleError(
                "correlation without base rules", f"unresolved reference {ref}"
            )
    for ref in correlation.rules:
        if isinstance(ref.rule, SigmaRule) and not ref.rule.get_conversion_result():
            backend.convert_rule(ref.rule)
    queries = backend.convert_correlation_rule(correlation)
    if not queries:
        raise RuleError("unsupported", "the correlation converted to no query")
    group_by = tuple(correlation.group_by or ())
    spec = CorrelationSpec(
        type=correlation.type.name.lower(),
        timespan_seconds=float(correlation.timespan.seconds),
        group_by=group_by,
        query=queries[0],
        columns=tuple(
            sorted(
                {*group_by, *_fieldref(correlation)} - set(GENERATED_FIELDS),
            )
        ),
    )
    first = correlation.rules[0].rule
    while isinstance(first, SigmaCorrelationRule):  # logsource of the first base rule
        first = first.rules[0].rule
    loaded = _loaded(correlation, path, text, "")
    return replace(
        loaded,
        dialect=backend.dialect,
        product=first.logsource.product,
        category=first.logsource.category,
        service=first.logsource.service,
        correlation=spec,
    )


# ---------------------------------------------------------------------------
# required literals (for the detector's pre-filter)

#: Literals shorter than this are not worth requiring.
MIN_LITERAL = 3
#: Clauses kept per rule (the most selective ones).
MAX_CLAUSES = 3

Clause = frozenset[str]


def required_literals(conditions: Sequence[Any]) -> tuple[tuple[str, ...], ...]:
    """Literals an event must contain to match any of ``conditions`` (parsed).

    The result is a conjunction of clauses; each clause is satisfied when one of its
    literals occurs (case-insensitively) in the event's field values or raw text. It
    is a necessary condition only: it may let through events the rule rejects, never
    the reverse. Negations, regular expressions, numbers and short values add
    nothing.
    """
    if len(conditions) == 1:
        clauses = _cnf(conditions[0])
    else:
        clauses = _cnf_or([_cnf(c) for c in conditions])
    ranked = sorted(clauses, key=_selectivity, reverse=True)[:MAX_CLAUSES]
    return tuple(tuple(sorted(clause)) for clause in ranked)


def _cnf(cond: Any) -> list[Clause]:
    if isinstance(cond, ConditionAND):
        return [clause for arg in cond.args for clause in _cnf(arg)]
    if isinstance(cond, ConditionOR):
        return _cnf_or([_cnf(arg) for arg in cond.args])
    if isinstance(cond, ConditionNOT):
        return []
    if isinstance(cond, ConditionFieldEqualsValueExpression | ConditionValueExpression):
        literals = _value_literals(cond.value)
        return [frozenset(literals)] if literals else []
    return []


def _cnf_or(branches: list[list[Clause]]) -> list[Clause]:
    # An OR needs one branch: the union of each branch's best clause is necessary.
    if not branches or any(not branch for branch in branches):
        return []
    best = [max(branch, key=_selectivity) for branch in branches]
    return [frozenset().union(*best)]


def _value_literals(value: Any) -> list[str] | None:
    if isinstance(value, SigmaExpansion):
        parts = [_value_literals(v) for v in value.values]
        if any(p is None for p in parts):
            return None
        return [lit for p in parts if p for lit in p]
    if isinstance(value, SigmaString):
        pieces, current = [], ""
        for part in value.s:
            if isinstance(part, str):
                current += part
            else:
                pieces.append(current)
                current = ""
        pieces.append(current)
        longest = max(pieces, key=len).lower()
        # short but non-ASCII (an emoji, a homoglyph) is still a selective literal
        if len(longest) >= MIN_LITERAL or any(c > "\x7f" for c in longest):
            return [longest]
        return None
    if isinstance(value, SigmaNumber):
        # EventID 4688 and the like: the digits occur in the event's JSON text
        digits = str(value.number)
        return [digits] if len(digits) >= MIN_LITERAL else None
    return None


def _selectivity(clause: Clause) -> tuple[int, int]:
    # longer shortest literal first, then fewer alternatives
    return (min((len(lit) for lit in clause), default=0), -len(clause))


def _has_keywords(cond: Any) -> bool:
    if isinstance(cond, ConditionValueExpression):
        return True
    return any(_has_keywords(arg) for arg in getattr(cond, "args", ()) or ())


def _fieldref(correlation: SigmaCorrelationRule) -> set[str]:
    field_name = getattr(correlation.condition, "fieldref", None)
    return {field_name} if isinstance(field_name, str) else set()


def _loaded(rule: Any, path: str | None, text: str, fragment: str) -> LoadedRule:
    tags = tuple(f"{t.namespace}.{t.name}" for t in (rule.tags or ()))
    techniques = tuple(
        m.group(1).upper() for t in tags if (m := _TECHNIQUE.match(t)) is not None
    )
    tactics = tuple(
        t.split(".", 1)[1]
        for t in tags
        if t.startswith("attack.") and t.split(".", 1)[1] in _TACTICS
    )
    logsource = getattr(rule, "logsource", None)
    return LoadedRule(
        id=str(rule.id) if rule.id else (rule.name or rule.title),
        title=rule.title,
        name=rule.name or "",
        level=rule.level.name.lower() if rule.level else "medium",
        status=rule.status.name.lower() if rule.status else None,
        description=rule.description or "",
        author=rule.author or "",
        references=tuple(rule.references or ()),
        tags=tags,
        techniques=techniques,
        tactics=tactics,
        falsepositives=tuple(str(f) for f in (rule.falsepositives or ())),
        product=logsource.product if logsource else None,
        category=logsource.category if logsource else None,
        service=logsource.service if logsource else None,
        fragment=fragment,
        source=text,
        path=path,
    )


def _check_regexes(rule: SigmaRule) -> None:
    for item in _detection_items(rule):
        for value in item.value:
            if isinstance(value, SigmaRegularExpression):
                pattern = str(value.regexp)
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise RuleError(
                        "unsupported regex",
                        f"{item.field}: {pattern!r} is not a Python regex: {exc}",
                    ) from exc


def _detection_items(rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    def walk(node: SigmaDetection | SigmaDetectionItem) -> Iterator[SigmaDetectionItem]:
        if isinstance(node, SigmaDetectionItem):
            yield node
        else:
            for child in node.detection_items:
                yield from walk(child)

    for detection in rule.detection.detections.values():
        yield from walk(detection)


_schema_local = threading.local()


def _check_fragment(fragment: str) -> None:
    """Prepare the fragment against an empty events table; RuleError if SQLite balks."""
    conn = getattr(_schema_local, "conn", None)
    if conn is None:
        conn = _empty_schema()
        _schema_local.conn = conn
    try:
        conn.execute(f"EXPLAIN SELECT id FROM events WHERE {fragment}")  # noqa: S608
    except sqlite3.Error as exc:
        raise RuleError("sql error", f"SQLite rejects the rule's SQL: {exc}") from exc


def _empty_schema() -> sqlite3.Connection:
    from siem.store import EVENTS, sqlite_regexp

    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.create_function("REGEXP", 2, sqlite_regexp, deterministic=True)
    dialect = sqlite_dialect.dialect()
    conn.execute(str(CreateTable(EVENTS).compile(dialect=dialect)))
    for index in EVENTS.indexes:
        conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
    return conn


def _reason(exc: SigmaError) -> str:
    if isinstance(exc, SigmaModifierError):
        return "unsupported modifier"
    if isinstance(exc, SigmaFeatureNotSupportedByBackendError):
        return "unsupported feature"
    return "invalid rule"


def _failure(
    path: str | None, doc: dict[str, Any], reason: str, message: str
) -> RuleFailure:
    return RuleFailure(
        path=path,
        title=str(doc.get("title") or ""),
        rule_id=str(doc.get("id") or ""),
        reason=reason,
        message=message,
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
