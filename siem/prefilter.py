"""The detector's pre-filter: which rules could match which new events, before SQL.

A detection rule carries *needs* (:func:`required_needs`, computed when it is
loaded): a conjunction of clauses, each a set of ``(field, literal)`` pairs. An event
can only match the rule if, for every clause, one of its fields holds one of the
literals (case-insensitively). ``Image|endswith: '\\whoami.exe'`` needs
``("Image", "\\whoami.exe")``; a keyword (value-only detection) needs its literal in
the event's ``raw`` text (field ``None``).

:class:`BatchValues` serves those needs for one batch of new events. It asks SQLite
once for the *distinct* values of the fields the rules read, per logsource, each
with the ids of the events holding it (``json_each`` parses each event's JSON once).
Noise repeats itself -- a batch of 5,000 events holds a few dozen distinct ``Image``
values -- so a need is answered by a substring test over a handful of values and
the union of their event ids. A rule then runs only on the events that meet all its
clauses, or not at all.

Needs are necessary conditions only: the pre-filter may let through an event the
rule rejects, never the reverse. Whatever the pre-filter cannot reason about
(negations, numbers shorter than three digits, CIDR ranges, field references,
dotted field names, non-text JSON values) imposes no need, or lets every such event
through.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

Triple = tuple[str, str, str]
#: (JSON key of the field, or None for the event's raw text; lower-cased literal)
Need = tuple[str | None, str]
NeedClause = tuple[Need, ...]

#: Literals shorter than this are not required. Any will do: a field has few
#: distinct values in a batch, so even ``EventID: 16`` is cheap to look up.
MIN_LITERAL = 1
#: Clauses kept per rule (the most selective ones); each one can only narrow.
MAX_CLAUSES = 6

# Fields read through a plain JSON key: dotted names are also read as nested paths
# and quotes or backslashes change the JSON path, so those impose no need.
_PLAIN_FIELD = re.compile(r'^[^."\\]+$')
# A literal SQLite may compare as a number: a JSON text such as "4.688e3" equals
# 4688 once a numeric column's affinity converts it, without containing "4688".
_NUMERIC = re.compile(r"^[0-9.+-]+$")
# ASCII letters Python's case-insensitive regex matching also finds in characters
# that do not lower-case to them (dotless i, long s): a run stops there.
_FOLD_UNSAFE = frozenset("is")


# ---------------------------------------------------------------------------
# needs, from a rule's parsed condition


def required_needs(conditions: Sequence[Any]) -> tuple[NeedClause, ...]:
    """Needs of a rule whose parsed conditions are ``conditions`` (any may match).

    The result is a conjunction of clauses; a clause is met when one of its
    ``(field, literal)`` pairs is: the field's value (``raw`` for field ``None``)
    contains the lower-cased literal.
    """
    if len(conditions) == 1:
        clauses = _cnf(conditions[0])
    else:
        clauses = _cnf_or([_cnf(c) for c in conditions])
    ranked = sorted(set(clauses), key=_selectivity, reverse=True)[:MAX_CLAUSES]
    return tuple(tuple(sorted(clause, key=_need_order)) for clause in ranked)


def _cnf(cond: Any) -> list[frozenset[Need]]:
    if isinstance(cond, ConditionAND):
        return [clause for arg in cond.args for clause in _cnf(arg)]
    if isinstance(cond, ConditionOR):
        return _cnf_or([_cnf(arg) for arg in cond.args])
    if isinstance(cond, ConditionNOT):
        return []
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        if not isinstance(cond.field, str) or not _PLAIN_FIELD.match(cond.field):
            return []
        return _clause(cond.field, value_literals(cond.value))
    if isinstance(cond, ConditionValueExpression):
        return _clause(None, value_literals(cond.value))
    return []


def _clause(field: str | None, literals: list[str] | None) -> list[frozenset[Need]]:
    return [frozenset((field, lit) for lit in literals)] if literals else []


def _cnf_or(branches: list[list[frozenset[Need]]]) -> list[frozenset[Need]]:
    # An OR needs one branch: the union of each branch's best clause is necessary.
    if not branches or any(not branch for branch in branches):
        return []
    best = [max(branch, key=_selectivity) for branch in branches]
    return [frozenset().union(*best)]


def _selectivity(clause: frozenset[Need]) -> tuple[int, int]:
    # longer shortest literal first, then fewer alternatives
    return (min((len(lit) for _, lit in clause), default=0), -len(clause))


def _need_order(need: Need) -> tuple[bool, str, str]:
    return (need[0] is not None, need[0] or "", need[1])


def value_literals(value: Any) -> list[str] | None:
    """Lower-cased literals of which a matching value contains one, or None."""
    if isinstance(value, SigmaExpansion):
        parts = [value_literals(v) for v in value.values]
        if any(not p for p in parts):
            return None
        return [lit for p in parts if p for lit in p]
    if isinstance(value, SigmaString):
        pieces, current = [], ""
        for part in value.s:
            if isinstance(part, str):
                current += part
            else:  # a wildcard or a placeholder
                pieces.append(current)
                current = ""
        pieces.append(current)
        return _worth(max(pieces, key=len).lower())
    if isinstance(value, SigmaNumber):
        return _worth(str(value.number))
    if isinstance(value, SigmaRegularExpression):
        ignore_case = SigmaRegularExpressionFlag.IGNORECASE in value.flags
        return _worth(regex_literal(str(value.regexp), ignore_case=ignore_case))
    return None


def _worth(literal: str) -> list[str] | None:
    # short but non-ASCII (an emoji, a homoglyph) is still a selective literal
    if len(literal) >= MIN_LITERAL or any(c > "\x7f" for c in literal):
        return [literal]
    return None


def regex_literal(pattern: str, *, ignore_case: bool = False) -> str:
    """The longest run of plain characters every match of ``pattern`` contains,
    lower-cased ("" when there is none).

    Only the pattern's top level counts (a group, a class or a repeat ends a run),
    and only ASCII characters; under case-insensitive matching ``i`` and ``s`` end
    a run too, because they also match characters that do not lower-case to them.
    """
    try:
        # The standard library's own parser of regular expressions (what re.compile
        # uses); private, so anything unexpected means "no literal".
        from re import _parser

        parsed = _parser.parse(pattern)
        ignore_case = ignore_case or bool(parsed.state.flags & re.IGNORECASE)
        runs, current = [], ""
        for op, arg in parsed:
            char = chr(arg) if op is _parser.LITERAL else ""
            if (
                not char
                or char > "\x7f"
                or (ignore_case and char.lower() in _FOLD_UNSAFE)
            ):
                runs.append(current)
                current = ""
            else:
                current += char
        runs.append(current)
    except Exception:  # a pattern we cannot reason about needs nothing
        return ""
    if parsed.state.flags & re.VERBOSE:
        return ""  # whitespace in the pattern is not literal
    return max(runs, key=len).lower()


# ---------------------------------------------------------------------------
# the batch of new events


class _FieldValues:
    """Distinct values of one field among one logsource's new events."""

    __slots__ = ("blob", "by_value", "ids", "loose", "texts")

    def __init__(self) -> None:
        self.by_value: dict[str | int, list[int]] = {}  # value -> event ids
        self.loose: list[int] = []  # events holding a value that is not text
        self.texts: list[str] = []  # lower-cased text of each distinct value ...
        self.ids: list[list[int]] = []  # ... and the events holding it
        self.blob = ""  # the texts, joined: one substring test for the batch

    def seal(self) -> None:
        for value, ids in self.by_value.items():
            self.texts.append(value.lower() if isinstance(value, str) else str(value))
            self.ids.append(ids)
        self.blob = "\x00".join(self.texts)


class BatchValues:
    """Distinct field values of the new events ``lo < id <= hi``, per logsource.

    ``keys`` lists, per logsource triple, the JSON keys the rules read (triples
    absent from it are not read); ``raw_triples`` the triples whose rules have
    keywords. :meth:`candidates` answers, for one rule's needs, which events of the
    given triples can match.

    Values are indexed as text, lower-cased: JSON strings as they are, integers in
    decimal. Any other JSON value (a real, a boolean, null, an object, an array, an
    integer beyond 64 bits) may compare in ways a substring test does not follow,
    so its events meet every need on that field; an event whose JSON does not
    parse here meets every need of its logsource.
    """

    def __init__(
        self,
        conn: sa.Connection,
        lo: int,
        hi: int,
        keys: Mapping[Triple, frozenset[str]],
        raw_triples: Iterable[Triple] = (),
    ) -> None:
        self.conn = conn
        self.lo = lo
        self.hi = hi
        self._values: dict[tuple[Triple, str], _FieldValues] = {}
        self._unknown: dict[Triple, frozenset[int]] = {}
        self._raw_triples = frozenset(raw_triples)
        self._raws: dict[Triple, tuple[list[int], list[str], str]] | None = None
        self._needs: dict[tuple[Triple, Need], frozenset[int]] = {}
        wanted = {t: names for t, names in keys.items() if names}
        if wanted:
            self._load(wanted)

    def _load(self, wanted: dict[Triple, frozenset[str]]) -> None:
        # Parsing in Python beats SQLite's json_each here: the GROUP BY that would
        # collect distinct values sorts every (event, field) pair of the batch.
        rows = self._rows("fields", list(wanted))
        slots: dict[Triple, dict[str, _FieldValues]] = {
            t: {name: _FieldValues() for name in names} for t, names in wanted.items()
        }
        unknown: dict[Triple, list[int]] = {}
        loads = orjson.loads
        for event_id, product, category, service, text in rows:
            triple = (product, category, service)
            try:
                doc = loads(text)
            except orjson.JSONDecodeError:
                doc = None
            if not isinstance(doc, dict):
                unknown.setdefault(triple, []).append(event_id)
                continue
            fields = slots[triple]
            for name in wanted[triple] & doc.keys():
                value = doc[name]
                kind = type(value)
                if kind is str or (kind is int and value and _I64 <= value < -_I64):
                    fields[name].by_value.setdefault(value, []).append(event_id)
                else:
                    fields[name].loose.append(event_id)
        for triple, fields in slots.items():
            for name, found in fields.items():
                found.seal()
                self._values[(triple, name)] = found
        self._unknown = {t: frozenset(ids) for t, ids in unknown.items()}

    def _rows(self, column: str, triples: list[Triple]) -> list[Any]:
        """(id, product, category, service, ``column``) of the batch's events of
        ``triples`` (through the DB-API cursor: thousands of rows)."""
        marks = ", ".join("(?, ?, ?)" for _ in triples)
        cursor = self.conn.connection.cursor()
        try:
            return cursor.execute(
                f"SELECT id, product, category, service, {column} "  # noqa: S608
                "FROM events NOT INDEXED WHERE id > ? AND id <= ? "
                f"AND (product, category, service) IN (VALUES {marks})",
                (self.lo, self.hi, *[part for triple in triples for part in triple]),
            ).fetchall()
        finally:
            cursor.close()

    def candidates(
        self, clauses: Sequence[NeedClause], triples: Sequence[Triple]
    ) -> set[int] | None:
        """Ids of the events of ``triples`` that meet every clause.

        ``None`` when there is no clause: every event of ``triples`` may match.
        """
        if not clauses:
            return None
        out: set[int] = set()
        for triple in triples:
            current: frozenset[int] | set[int] | None = None
            for clause in clauses:
                met = self._clause_ids(triple, clause)
                current = met if current is None else current & met
                if not current:
                    break
            if current:
                out |= current
        return out

    def _clause_ids(self, triple: Triple, clause: NeedClause) -> frozenset[int]:
        if len(clause) == 1:
            return self._need_ids(triple, clause[0])
        met: set[int] = set()
        for need in clause:
            met |= self._need_ids(triple, need)
        return frozenset(met)

    def _need_ids(self, triple: Triple, need: Need) -> frozenset[int]:
        key = (triple, need)
        found = self._needs.get(key)
        if found is None:
            field, literal = need
            if field is None:
                found = self._raw_ids(triple, literal)
            else:
                found = self._field_ids(triple, field, literal)
            unknown = self._unknown.get(triple)
            if unknown:
                found = found | unknown
            self._needs[key] = found
        return found

    def _field_ids(self, triple: Triple, field: str, literal: str) -> frozenset[int]:
        values = self._values.get((triple, field))
        if values is None:
            return _NONE
        numeric = _looks_numeric(literal)
        if literal not in values.blob and not numeric:
            return frozenset(values.loose) if values.loose else _NONE
        met = set(values.loose)
        for text, ids in zip(values.texts, values.ids, strict=True):
            if literal in text or (numeric and "e" in text):
                met.update(ids)
        return frozenset(met)

    def _raw_ids(self, triple: Triple, literal: str) -> frozenset[int]:
        if self._raws is None:
            self._raws = self._load_raws()
        raws = self._raws.get(triple)
        if raws is None:
            return _NONE
        ids, texts, blob = raws
        if literal not in blob:
            return _NONE
        return frozenset(
            i for i, text in zip(ids, texts, strict=True) if literal in text
        )

    def _load_raws(self) -> dict[Triple, tuple[list[int], list[str], str]]:
        triples = sorted(self._raw_triples)
        if not triples:
            return {}
        rows = self._rows("raw", triples)
        grouped: dict[Triple, tuple[list[int], list[str]]] = {}
        for event_id, product, category, service, raw in rows:
            ids, texts = grouped.setdefault((product, category, service), ([], []))
            ids.append(event_id)
            texts.append(raw.lower())
        return {
            triple: (ids, texts, "\x00".join(texts))
            for triple, (ids, texts) in grouped.items()
        }


_NONE: frozenset[int] = frozenset()
#: smallest 64-bit integer: SQLite reads larger JSON integers as reals
_I64 = -(2**63)


@functools.lru_cache(maxsize=65536)
def _looks_numeric(literal: str) -> bool:
    return _NUMERIC.match(literal) is not None
