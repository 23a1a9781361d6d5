"""Large rule sets: loading a whole Sigma corpus, and the detector's word pre-filter.

:func:`load_corpus` loads every rule under a folder (e.g. the SigmaHQ ``rules/``
tree), keeps what converts and reports the rest by reason, with the time it took.

:class:`BatchIndex` is what lets thousands of rules keep up with a live exercise.
Each rule carries *required literals* (:func:`siem.sigma.required_literals`): words an
event must contain for the rule to possibly match. For a batch of new events the
index collects, per logsource, the set of words (runs of letters and digits) and the
set of 4-character grams of those words, once; a rule is then queried only when
every one of its clauses has a literal whose words could occur in the batch:

- a run of the literal bounded on both sides by other characters must be a whole
  word of the batch (one set lookup);
- any other run of four characters or more must have all its 4-grams in the batch;
- every non-ASCII character of the literal must occur in the batch.

Both are necessary conditions (a literal that occurs in an event passes), so the
pre-filter may run a rule that then matches nothing, but never skips a match.
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import sqlalchemy as sa

from siem.alerts import Hit
from siem.fields import GENERATED_FIELDS, quote_identifier
from siem.sigma import LoadedRule, RuleFailure, load_rules

Triple = tuple[str, str, str]

_WORD = re.compile(r"[a-z0-9]+")
_GRAM = 4


# ---------------------------------------------------------------------------
# whole-corpus loading


@dataclass(slots=True)
class CorpusReport:
    """Outcome of loading a corpus: rules kept, failures and timing."""

    rules: list[LoadedRule]
    failures: list[RuleFailure]
    files: int
    seconds: float

    @property
    def by_reason(self) -> Counter[str]:
        return Counter(f.reason for f in self.failures)

    def summary_lines(self) -> list[str]:
        """Human summary: totals, then failures counted by reason."""
        total = len(self.rules) + len(self.failures)
        lines = [
            f"{len(self.rules)}/{total} rules converted from {self.files} files "
            f"in {self.seconds:.2f} s",
        ]
        lines += [
            f"  not converted, {reason}: {count}"
            for reason, count in self.by_reason.most_common()
        ]
        return lines


def load_corpus(folder: str | Path, *, check_sql: bool = True) -> CorpusReport:
    """Load every ``*.yml`` rule under ``folder``; see :class:`CorpusReport`."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder of Sigma rules: {root}")
    files = sorted(root.rglob("*.yml"))
    started = time.perf_counter()
    loaded = load_rules(files, check_sql=check_sql)
    return CorpusReport(
        rules=loaded.rules,
        failures=loaded.failures,
        files=len(files),
        seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------
# the pre-filter and the materialised batch

#: Temp table holding the current batch with the hot fields as plain columns.
BATCH_TABLE = "temp.detection_batch"
_BATCH_COLUMNS = (
    "id",
    "ts",
    "host",
    "tenant",
    "exercise",
    "product",
    "category",
    "service",
    "raw",
    "fields",
)


@dataclass(slots=True, frozen=True)
class _Vocabulary:
    words: frozenset[str]
    grams: frozenset[str]
    chars: frozenset[str]
    keys: frozenset[str]  # the three together, for the quick clause test


@functools.lru_cache(maxsize=65536)
def literal_needs(
    literal: str,
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(whole words, 4-grams, non-ASCII characters) a batch must contain for
    ``literal`` (lower-cased) to occur in one of its events."""
    words: set[str] = set()
    grams: set[str] = set()
    for match in _WORD.finditer(literal):
        run, start, end = match.group(), match.start(), match.end()
        # A control character is escaped in JSON text (\n, \u0001 …), which glues
        # letters to the neighbouring word: it does not bound one.
        bounded = (
            start > 0
            and end < len(literal)
            and literal[start - 1] >= " "
            and literal[end] >= " "
        )
        if bounded:
            words.add(run)
        elif len(run) >= _GRAM:
            grams.update(run[i : i + _GRAM] for i in range(len(run) - _GRAM + 1))
    chars = frozenset(c for c in literal if c > "\x7f")
    return frozenset(words), frozenset(grams), chars


def _vocabulary(texts: list[str]) -> _Vocabulary:
    text = "\n".join(texts)
    words = frozenset(_WORD.findall(text))
    joined = " ".join(w for w in words if len(w) >= _GRAM)
    grams = frozenset(joined[i : i + _GRAM] for i in range(len(joined) - _GRAM + 1))
    chars = frozenset(c for c in set(text) if c > "\x7f")
    return _Vocabulary(words, grams, chars, words | grams | chars)


@dataclass(slots=True, frozen=True)
class _Literal:
    text: str  # lower-cased, as in the rule
    escaped: str  # as it appears inside JSON text
    words: frozenset[str]
    grams: frozenset[str]
    chars: frozenset[str]

    def in_batch(self, vocab: _Vocabulary) -> bool:
        return (
            self.words <= vocab.words
            and self.grams <= vocab.grams
            and self.chars <= vocab.chars
        )

    def in_event(self, text: str) -> bool:
        return self.escaped in text or self.text in text


@dataclass(slots=True, frozen=True)
class Clause:
    """Literals of which an event needs one; ``keys`` holds one need of each
    (``None`` when a literal has none)."""

    keys: frozenset[str] | None
    literals: tuple[_Literal, ...]


def compile_requirements(rule: LoadedRule) -> tuple[Clause, ...]:
    """The rule's required literals in the form :class:`BatchIndex` checks."""
    clauses = []
    for clause in rule.requirements:
        literals = [
            _Literal(lit, orjson.dumps(lit).decode()[1:-1].lower(), *literal_needs(lit))
            for lit in clause
        ]
        # A literal with nothing to look for in the vocabulary (``rpc::``) passes
        # the batch test; the per-event substring test still applies to it.
        keys = (
            frozenset(min(lit.words or lit.grams or lit.chars) for lit in literals)
            if all(lit.words or lit.grams or lit.chars for lit in literals)
            else None
        )
        clauses.append(Clause(keys, tuple(literals)))
    return tuple(clauses)


_COLUMN_REF = re.compile(r'"([^"]+)"')


@functools.lru_cache(maxsize=16384)
def fragment_columns(fragment: str) -> frozenset[str]:
    """Generated columns a rule fragment reads."""
    return frozenset(
        name for name in _COLUMN_REF.findall(fragment) if name in GENERATED_FIELDS
    )


@dataclass(slots=True)
class _Group:
    """The batch's events of one logsource."""

    ids: list[int]
    fields: list[str]  # lower-cased JSON text
    raws: list[str]
    raws_lower: list[str] | None = None


class BatchIndex:
    """The new events ``lo < id <= hi``, grouped by logsource, for the pre-filter.

    :meth:`candidates` answers, for one rule, either "no event can match" (``[]``),
    "these events might" (their ids), or "cannot tell" (``None``: every event of
    the rule's logsources). It first checks the batch's vocabulary -- words and
    4-grams of all its events -- then, for the best clause, which events contain
    one of the literals the vocabulary admits.

    :meth:`materialise` copies the batch into a temp table where the hot Sigma
    fields are plain columns (same names, types and collations as the store's
    generated columns), each extracted from the event's JSON once. A generated
    column is re-extracted at every reference, and SigmaHQ has rules comparing one
    field with hundreds of values: rules that must scan the whole batch read the
    copy.
    """

    def __init__(self, conn: sa.Connection, lo: int, hi: int) -> None:
        self.conn = conn
        self.lo = lo
        self.hi = hi
        self._groups: dict[Triple, _Group] = {}
        self._vocab: dict[tuple[Triple, bool], _Vocabulary] = {}
        rows = conn.exec_driver_sql(
            "SELECT id, product, category, service, fields, raw FROM events "
            "NOT INDEXED WHERE id > ? AND id <= ?",
            (lo, hi),
        )
        for event_id, product, category, service, fields_text, raw in rows:
            group = self._groups.get((product, category, service))
            if group is None:
                group = self._groups[(product, category, service)] = _Group([], [], [])
            group.ids.append(event_id)
            group.fields.append(fields_text.lower())
            group.raws.append(raw)

    def candidates(
        self,
        clauses: Sequence[Clause],
        triples: Sequence[Triple],
        *,
        keywords: bool = False,
    ) -> list[int] | None:
        """Ids of the events of ``triples`` that may satisfy ``clauses``.

        ``None`` when there is no clause to check (every event may match).
        ``keywords``: the rule also matches ``raw``, so look there too.
        """
        if not clauses:
            return None
        out: list[int] = []
        for triple in triples:
            vocab = self._vocabulary(triple, keywords)
            admitted: list[list[_Literal]] = []
            for clause in clauses:
                if clause.keys is not None and clause.keys.isdisjoint(vocab.keys):
                    break
                present = [lit for lit in clause.literals if lit.in_batch(vocab)]
                if not present:
                    break
                admitted.append(present)
            else:
                out += self._events_with(triple, admitted[0], keywords)
        return out

    def _events_with(
        self, triple: Triple, literals: list[_Literal], keywords: bool
    ) -> list[int]:
        group = self._groups[triple]
        texts = group.fields
        if keywords:
            if group.raws_lower is None:
                group.raws_lower = [raw.lower() for raw in group.raws]
            texts = [f + "\n" + r for f, r in zip(texts, group.raws_lower, strict=True)]
        return [
            event_id
            for event_id, text in zip(group.ids, texts, strict=True)
            if any(lit.in_event(text) for lit in literals)
        ]

    def materialise(self, rules: Sequence[LoadedRule]) -> None:
        """Copy the batch into the temp table, with the columns ``rules`` read."""
        columns = sorted(
            frozenset().union(*(fragment_columns(r.fragment) for r in rules))
        )
        conn = self.conn
        conn.exec_driver_sql(_batch_ddl())
        conn.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS temp.ix_detection_batch_logsource "
            "ON detection_batch (product, category, service)"
        )
        conn.exec_driver_sql(f"DELETE FROM {BATCH_TABLE}")  # noqa: S608
        names = ", ".join([*_BATCH_COLUMNS, *map(quote_identifier, columns)])
        conn.exec_driver_sql(
            f"INSERT INTO {BATCH_TABLE} ({names}) SELECT {names} "  # noqa: S608
            "FROM events NOT INDEXED WHERE id > ? AND id <= ?",
            (self.lo, self.hi),
        )

    def match(
        self,
        rule: LoadedRule,
        triples: Sequence[Triple],
        ids: Sequence[int] | None = None,
    ) -> list[Hit]:
        """Events of the materialised batch (of ``triples``, or among ``ids``) that
        match ``rule``."""
        if ids is not None:
            where = "id IN (SELECT value FROM json_each(?))"
            params: tuple[object, ...] = (orjson.dumps(list(ids)).decode(),)
        else:
            where = "(product, category, service) IN (VALUES {})".format(
                ", ".join("(?, ?, ?)" for _ in triples)
            )
            params = tuple(part for triple in triples for part in triple)
        rows = self.conn.exec_driver_sql(
            "SELECT id, ts, host, tenant, exercise FROM detection_batch "  # noqa: S608
            f"WHERE {where} AND {rule.fragment}",
            params,
        )
        return [Hit(int(i), ts, host, tenant, ex) for i, ts, host, tenant, ex in rows]

    def _vocabulary(self, triple: Triple, with_raw: bool) -> _Vocabulary:
        key = (triple, with_raw)
        found = self._vocab.get(key)
        if found is None:
            group = self._groups[triple]
            texts = (
                group.fields + [r.lower() for r in group.raws]
                if with_raw
                else group.fields
            )
            found = _vocabulary(texts)
            self._vocab[key] = found
        return found


def _batch_ddl() -> str:
    generated = ", ".join(
        f"{quote_identifier(name)} "
        + ("INTEGER" if kind == "int" else "TEXT COLLATE NOCASE")
        for name, kind in GENERATED_FIELDS.items()
    )
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS detection_batch (id INTEGER PRIMARY KEY, "
        "ts TEXT, host TEXT COLLATE NOCASE, tenant TEXT, exercise TEXT, product TEXT, "
        f"category TEXT, service TEXT, raw TEXT, fields TEXT, {generated})"
    )
