"""Lucene query text → a parameterised SQL condition over ``events``.

luqum parses the text; this module walks the tree and writes SQL in which every value
is a bound ``?`` parameter and every field went through :func:`catalog.resolve`.
Implicit operators mean AND, as in a SIEM search bar. Bare words and phrases search the
raw line: on SQLite through the FTS5 index, on PostgreSQL as a case-free regular
expression with the same word boundaries (served by the ``pg_trgm`` index); with
wildcards, as a substring (``LIKE``/``ILIKE``). Text equality ignores case:
``COLLATE NOCASE`` on SQLite, ``lower(...) = lower(?)`` on PostgreSQL.
Anything the SQL could not express faithfully (fuzzy, proximity, boosts, regular
expressions, nested fields) is refused with a :class:`SearchError` and its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.thread import parse
from luqum.tree import (
    AndOperation,
    BaseApprox,
    BaseGroup,
    Boost,
    From,
    Item,
    Not,
    OpenRange,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Range,
    Regex,
    SearchField,
    To,
    UnknownOperation,
    Word,
)

from siem.fields import Dialect, safe_number_sql
from siem.search.catalog import FieldRef, resolve
from siem.search.errors import SearchError
from simulator.events import iso_ms, parse_iso

MAX_QUERY_LENGTH = 20_000
MAX_DEPTH = 40
MAX_TERMS = 1_000
# Full-text match on the raw line through the store's FTS5 index (rowid = events.id).
FTS_MATCH = "events.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"
LIKE_ESCAPE = "\\"
# Word search on PostgreSQL: the raw line matches a regular expression (below).
WORD_MATCH = "events.raw ~* ?"
MATCH_ALL = "TRUE"

_INT = re.compile(r"[+-]?\d{1,18}")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_POSITION = re.compile(r"position (\d+)")
_OPERATOR_LOOKALIKES = {"and": "AND", "or": "OR", "not": "NOT", "&&": "AND", "||": "OR"}


class Wild:
    """A wildcard in a value: ``*`` (any run of characters) or ``?`` (one)."""

    __slots__ = ("symbol",)

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol


ANY = Wild("*")
ONE = Wild("?")
Pattern = list[str | Wild]


@dataclass(slots=True)
class Condition:
    """A SQL boolean expression over ``events`` and its bound parameters, in order."""

    sql: str
    params: list[Any] = field(default_factory=list)


def compile_query(query: str, dialect: Dialect = "sqlite") -> Condition:
    """Parse ``query`` and return its SQL condition in ``dialect`` (the store's);
    :class:`SearchError` if invalid.

    An empty query (or ``*``) matches every event.
    """
    if not isinstance(query, str):
        raise SearchError("the query must be text")
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError(
            f"the query is longer than {MAX_QUERY_LENGTH:,} characters",
            MAX_QUERY_LENGTH,
        )
    if not query.strip():
        return Condition(MATCH_ALL)
    tree = parse_tree(query)
    translator = _Translator(dialect)
    return Condition(translator.node(tree, 0), translator.params)


def parse_tree(query: str) -> Item:
    """The luqum tree of ``query``, with luqum's errors turned into SearchErrors."""
    for offset, char in enumerate(query):
        # The lexer would reject these anyway; say which one, and where.
        if char == "\x00":
            raise SearchError("the query contains a NUL character", offset)
    try:
        return parse(query)
    except IllegalCharacterError as exc:
        pos = _error_position(str(exc), len(query))
        if query[pos : pos + 1] == '"':
            raise SearchError("unterminated quoted phrase", pos) from None
        raise SearchError(
            f"unexpected character {query[pos : pos + 1]!r}", pos
        ) from None
    except ParseError as exc:
        pos = _error_position(str(exc), len(query))
        if pos >= len(query):
            raise SearchError(
                "the query ends too early: an operator, '(' or range is not finished",
                len(query),
            ) from None
        token = query[pos:].split(maxsplit=1)[0] if query[pos:].strip() else ""
        raise SearchError(f"unexpected {token!r}", pos) from None
    except ArithmeticError:
        # luqum reads the number after '~' or '^' as a Decimal and fails on "~.".
        marks = [i for i in (query.find("~"), query.find("^")) if i >= 0]
        raise SearchError(
            "a '~' or '^' is followed by something that is not a number",
            min(marks, default=0),
        ) from None
    except RecursionError:
        raise SearchError("the query is nested too deeply", 0) from None


def _error_position(message: str, end: int) -> int:
    found = _POSITION.search(message)
    return min(int(found.group(1)), end) if found else end


# --- values -------------------------------------------------------------------


def word_pattern(text: str) -> Pattern:
    """A Lucene word: ``\\x`` is a literal x; bare ``*`` and ``?`` are wildcards."""
    out: Pattern = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            _append(out, next(chars, "\\"))
        elif char == "*":
            out.append(ANY)
        elif char == "?":
            out.append(ONE)
        else:
            _append(out, char)
    return out


def phrase_pattern(text: str) -> Pattern:
    """A quoted phrase: ``*`` is a wildcard, backslashes are literal (Windows paths).

    Only ``\\"`` (a quote) and ``\\\\`` (one backslash) are escapes, so both
    ``"C:\\Windows\\*"`` and ``"C:\\\\Windows\\\\*"`` mean the same path prefix.
    """
    body = text[1:-1]
    out: Pattern = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and body[index + 1 : index + 2] in ('"', "\\"):
            _append(out, body[index + 1])
            index += 2
            continue
        if char == "*":
            out.append(ANY)
        else:
            _append(out, char)
        index += 1
    return out


def _append(out: Pattern, text: str) -> None:
    if out and isinstance(out[-1], str):
        out[-1] += text
    else:
        out.append(text)


def has_wildcards(pattern: Pattern) -> bool:
    return any(isinstance(part, Wild) for part in pattern)


def literal(pattern: Pattern) -> str:
    return "".join(part for part in pattern if isinstance(part, str))


def like_pattern(pattern: Pattern) -> str:
    """The LIKE pattern (escape ``\\``) for a value pattern."""
    out: list[str] = []
    for part in pattern:
        if part is ANY:
            if out[-1:] != ["%"]:
                out.append("%")
        elif part is ONE:
            out.append("_")
        elif isinstance(part, str):
            out.append(
                part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            )
    return "".join(out)


def _fts_phrase(text: str) -> str:
    """An FTS5 string: a double-quoted phrase, inner quotes doubled (no FTS syntax)."""
    return '"' + text.replace('"', '""') + '"'


def word_regex(text: str, *, prefix: bool = False) -> str:
    """PostgreSQL regular expression matching ``text`` as FTS5 would as a phrase.

    FTS5's ``unicode61`` tokenizer keeps runs of letters and digits and drops every
    other character; a phrase matches its tokens in order, separated by anything but
    letters and digits, each a whole word (the last may be a prefix). Tokens hold
    letters and digits only, so none needs escaping.
    """
    tokens = re.findall(r"[^\W_]+", text)
    body = "[^[:alnum:]]+".join(tokens)
    return "(?<![[:alnum:]])" + body + ("" if prefix else "(?![[:alnum:]])")


def _has_token(text: str) -> bool:
    # FTS5's unicode61 tokenizer indexes letters and digits; a value without any
    # would be an empty phrase, so it goes to the substring scan instead.
    return any(ch.isalnum() for ch in text)


def _number(text: str) -> int | float | None:
    if _INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        value = float(text)
        return value if value == value and abs(value) != float("inf") else None
    return None


# --- the walk -----------------------------------------------------------------


class _Translator:
    def __init__(self, dialect: Dialect) -> None:
        self.params: list[Any] = []
        self.terms = 0
        self.postgres = dialect == "postgresql"
        self.dialect = dialect
        # LIKE ignores ASCII case on SQLite; PostgreSQL needs ILIKE
        self.like = "ILIKE" if self.postgres else "LIKE"
        self.false = "false" if self.postgres else "0"

    # shared helpers

    def _bind(self, *values: Any) -> None:
        self.params.extend(values)

    def _count_term(self, node: Item) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise SearchError(f"the query has more than {MAX_TERMS} terms", node.pos)

    def _check_depth(self, node: Item, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise SearchError(
                f"the query is nested too deeply (more than {MAX_DEPTH} levels)",
                node.pos,
            )

    @staticmethod
    def _join(parts: list[str], operator: str) -> str:
        # Balanced parentheses keep SQLite's expression tree shallow for long lists.
        if len(parts) == 1:
            return parts[0]
        middle = len(parts) // 2
        left = _Translator._join(parts[:middle], operator)
        right = _Translator._join(parts[middle:], operator)
        return f"({left} {operator} {right})"

    def _operation(self, node: Item, depth: int, child: Any) -> str:
        operator = "OR" if isinstance(node, OrOperation) else "AND"
        if isinstance(node, UnknownOperation):
            for operand in node.children:
                _reject_operator_lookalike(operand)
        return self._join(
            [child(operand, depth + 1) for operand in node.children], operator
        )

    # query level: operations, groups, field expressions, bare full-text terms

    def node(self, node: Item, depth: int) -> str:
        self._check_depth(node, depth)
        if isinstance(node, AndOperation | OrOperation | UnknownOperation):
            return self._operation(node, depth, self.node)
        if isinstance(node, Not | Prohibit):
            return f"(NOT coalesce({self.node(node.a, depth + 1)}, {self.false}))"
        if isinstance(node, Plus):
            return self.node(node.a, depth + 1)
        if isinstance(node, BaseGroup):
            return self.node(node.expr, depth + 1)
        if isinstance(node, SearchField):
            return self.search_field(node, depth)
        if isinstance(node, Word):
            self._count_term(node)
            return self.full_text(word_pattern(node.value), node)
        if isinstance(node, Phrase):
            self._count_term(node)
            return self.full_text(phrase_pattern(node.value), node)
        if isinstance(node, Range | OpenRange):
            raise SearchError(
                "a range needs a field, e.g. EventID:[4624 TO 4634] or EventID:>4000",
                node.pos,
            )
        raise _unsupported(node)

    def search_field(self, node: SearchField, depth: int) -> str:
        typed = unescape_name(node.name)
        if typed == "_exists_":
            target = node.expr
            if not isinstance(target, Word | Phrase):
                raise SearchError(
                    "_exists_ takes one field name, e.g. _exists_:CommandLine", node.pos
                )
            self._count_term(target)
            name = (
                literal(phrase_pattern(target.value))
                if isinstance(target, Phrase)
                else unescape_name(target.value)
            )
            return exists_sql(resolve(name, target.pos, self.dialect))
        ref = resolve(typed, node.pos, self.dialect)
        return self.value(ref, node.expr, depth + 1)

    def full_text(self, pattern: Pattern, node: Item) -> str:
        text = literal(pattern)
        if not has_wildcards(pattern):
            if not _has_token(text):
                return self._raw_contains([text])
            return self._words(text, prefix=False)
        if not text and all(part is ANY for part in pattern):
            return MATCH_ALL
        prefix_only = pattern[-1] is ANY and not has_wildcards(pattern[:-1])
        if prefix_only and _has_token(text) and text[-1:].isalnum():
            return self._words(text, prefix=True)
        return self._raw_contains(pattern)

    def _words(self, text: str, *, prefix: bool) -> str:
        """The raw line holds ``text``'s words in order (the last maybe a prefix)."""
        if self.postgres:
            self._bind(word_regex(text, prefix=prefix))
            return WORD_MATCH
        self._bind(_fts_phrase(text) + (" *" if prefix else ""))
        return FTS_MATCH

    def _raw_contains(self, pattern: Pattern) -> str:
        """A bare term with wildcards matches anywhere in the raw line."""
        self._bind(like_pattern([ANY, *pattern, ANY]))
        return f"events.raw {self.like} ? ESCAPE '{LIKE_ESCAPE}'"

    # field level: the value side of ``field:...``

    def value(self, ref: FieldRef, node: Item, depth: int) -> str:
        self._check_depth(node, depth)
        if isinstance(node, AndOperation | OrOperation | UnknownOperation):
            return self._operation(
                node, depth, lambda child, d: self.value(ref, child, d)
            )
        if isinstance(node, Not | Prohibit):
            return f"(NOT coalesce({self.value(ref, node.a, depth + 1)}, {self.false}))"
        if isinstance(node, Plus):
            return self.value(ref, node.a, depth + 1)
        if isinstance(node, BaseGroup):
            return self.value(ref, node.expr, depth + 1)
        if isinstance(node, Word):
            self._count_term(node)
            return self.match(ref, word_pattern(node.value), node)
        if isinstance(node, Phrase):
            self._count_term(node)
            return self.match(ref, phrase_pattern(node.value), node)
        if isinstance(node, Range):
            self._count_term(node)
            low = self._bound(node.low, ref)
            high = self._bound(node.high, ref)
            return self.range(ref, low, high, node.include_low, node.include_high, node)
        if isinstance(node, From):
            self._count_term(node)
            return self.range(
                ref, self._bound(node.a, ref), None, node.include, True, node
            )
        if isinstance(node, To):
            self._count_term(node)
            return self.range(
                ref, None, self._bound(node.a, ref), True, node.include, node
            )
        if isinstance(node, SearchField):
            raise SearchError(
                f"field {node.name!r} is nested inside another field; "
                "write a:x AND b:y instead of a:(b:y)",
                node.pos,
            )
        raise _unsupported(node)

    def match(self, ref: FieldRef, pattern: Pattern, node: Item) -> str:
        if pattern == [ANY]:
            return exists_sql(ref)
        if has_wildcards(pattern):
            subject = (
                f"CAST({ref.sql} AS text)"
                if self.postgres and ref.kind == "int"
                else ref.sql
            )
            like = f"{subject} {self.like} ? ESCAPE '{LIKE_ESCAPE}'"
            # PostgreSQL reads one JSON key without parsing the rest: no gain there
            prefilter = None if self.postgres else fields_prefilter(ref, pattern)
            if prefilter is None:
                self._bind(like_pattern(pattern))
                return like
            self._bind(prefilter, like_pattern(pattern))
            return f"(events.fields LIKE ? ESCAPE '{LIKE_ESCAPE}' AND {like})"
        text = literal(pattern)
        if ref.kind == "int":
            number = _number(text)
            if number is None:
                raise SearchError(
                    f"{ref.name} holds numbers; {text!r} is not a number", node.pos
                )
            self._bind(number)
            return f"{ref.sql} = ?"
        if ref.kind == "ts":
            self._bind(_timestamp(text, node))
            return f"{ref.sql} = ?"
        if ref.kind == "json":
            # A JSON value may be a number or a string: LIKE compares its text.
            self._bind(like_pattern(pattern))
            return f"{ref.sql} {self.like} ? ESCAPE '{LIKE_ESCAPE}'"
        self._bind(text)
        if self.postgres:
            return f"lower({ref.sql}) = lower(?)"
        return f"{ref.sql} = ? COLLATE NOCASE"

    def _bound(self, node: Item, ref: FieldRef) -> tuple[str, Item] | None:
        """A range bound as text (``None`` for ``*``), rejecting anything else."""
        sign = ""
        if isinstance(node, Prohibit | Plus):
            # luqum reads "[-5 TO 5]" as a prohibited word; it is a negative number.
            sign = "-" if isinstance(node, Prohibit) else "+"
            node = node.a
        if isinstance(node, Word):
            pattern = word_pattern(node.value)
        elif isinstance(node, Phrase):
            pattern = phrase_pattern(node.value)
        else:
            raise SearchError(
                f"a range bound of {ref.name} must be a single value", node.pos
            )
        if pattern == [ANY] and not sign:
            return None
        if has_wildcards(pattern):
            raise SearchError("a range bound cannot contain wildcards", node.pos)
        return sign + literal(pattern), node

    def range(
        self,
        ref: FieldRef,
        low: tuple[str, Item] | None,
        high: tuple[str, Item] | None,
        include_low: bool,
        include_high: bool,
        node: Item,
    ) -> str:
        if low is None and high is None:
            return exists_sql(ref)
        bounds = [b for b in (low, high) if b is not None]
        numbers = [_number(text) for text, _ in bounds]
        if ref.kind == "ts":
            values: list[Any] = [_timestamp(text, at) for text, at in bounds]
            expr = ref.sql
        elif all(n is not None for n in numbers):
            values = numbers
            if ref.kind == "int":
                expr = ref.sql
            elif self.postgres:
                expr = safe_number_sql(ref.sql)
            else:
                expr = _numeric(ref.sql)
        elif ref.kind == "int":
            text, at = next(
                b for b, n in zip(bounds, numbers, strict=True) if n is None
            )
            raise SearchError(
                f"{ref.name} holds numbers; the range bound {text!r} is not a number",
                at.pos,
            )
        else:
            values = [text for text, _ in bounds]
            expr = ref.sql
        if low is not None and high is not None and _inverted(values[0], values[1]):
            raise SearchError(
                f"empty range: the lower bound {low[0]!r} is above the upper bound "
                f"{high[0]!r}",
                node.pos,
            )
        case_free = isinstance(values[0], str) and ref.kind != "ts"
        left, right = expr, "?"
        if case_free and self.postgres:
            left, right = f"lower({expr})", "lower(?)"
        elif case_free:
            right = "? COLLATE NOCASE"
        parts = []
        remaining = iter(values)
        if low is not None:
            parts.append(f"{left} {'>=' if include_low else '>'} {right}")
            self._bind(next(remaining))
        if high is not None:
            parts.append(f"{left} {'<=' if include_high else '<'} {right}")
            self._bind(next(remaining))
        return "(" + " AND ".join(parts) + ")"


def fields_prefilter(ref: FieldRef, pattern: Pattern) -> str | None:
    """A cheap necessary condition on the JSON text of ``fields``, or ``None``.

    A wildcard match on a JSON field has to parse every row's JSON; a LIKE over the
    JSON text does not, and whatever the field's value contains, the text contains
    too -- provided the literal parts need no JSON escaping (the store writes fields
    with orjson, which escapes only quotes, backslashes and control characters).
    Worth it only when some literal part is long enough to be selective.
    """
    if ref.kind not in ("text", "int", "json") or not ref.sql.startswith(
        ('events."', "json_extract(", "coalesce(json_extract(")
    ):
        return None
    parts = [part for part in pattern if isinstance(part, str)]
    if not any(len(part) >= 3 for part in parts):
        return None
    if any(ch in '"\\' or ord(ch) < 32 for part in parts for ch in part):
        return None
    # Every wildcard becomes '%': one character of the value may be two in the JSON.
    return like_pattern(
        [ANY, *[ANY if isinstance(p, Wild) else p for p in pattern], ANY]
    )


def _inverted(low: Any, high: Any) -> bool:
    if isinstance(low, str) and isinstance(high, str):
        return low.lower() > high.lower()
    return bool(low > high)


def _numeric(expr: str) -> str:
    """``expr`` as a number when it holds one (number or numeric text), else NULL."""
    text = f"trim(CAST({expr} AS TEXT))"
    return (
        f"(CASE WHEN typeof({expr}) IN ('integer', 'real') THEN {expr} "
        f"WHEN {text} GLOB '*[0-9]*' AND NOT {text} GLOB '*[^0-9.eE+-]*' "
        f"THEN CAST({text} AS REAL) END)"
    )


def exists_sql(ref: FieldRef) -> str:
    """The field is present (``''`` counts as absent for the base logsource columns)."""
    if ref.empty_is_missing:
        return f"({ref.sql} IS NOT NULL AND {ref.sql} <> '')"
    return f"({ref.sql} IS NOT NULL)"


def _timestamp(text: str, node: Item) -> str:
    try:
        return iso_ms(parse_iso(text))
    except (ValueError, OverflowError, OSError):
        raise SearchError(
            f"{text!r} is not a timestamp; use ISO 8601, e.g. 2026-03-01T08:00:00Z",
            node.pos,
        ) from None


def unescape_name(name: str) -> str:
    """A field name with Lucene backslash escapes removed (``c\\-uri`` → ``c-uri``)."""
    return re.sub(r"\\(.)", r"\1", name)


def _reject_operator_lookalike(node: Item) -> None:
    if isinstance(node, Word):
        meant = _OPERATOR_LOOKALIKES.get(node.value.lower())
        if meant is not None and node.value != meant:
            raise SearchError(
                f"{node.value!r} is read as a search word; write {meant} in capitals "
                f'to combine terms, or quote it ("{node.value}") to search for it',
                node.pos,
            )


def _unsupported(node: Item) -> SearchError:
    if isinstance(node, Regex):
        what = "regular expressions (/.../) are not supported; use * and ? wildcards"
    elif isinstance(node, BaseApprox):
        what = "fuzzy (~) and proximity searches are not supported"
    elif isinstance(node, Boost):
        what = "boosts (^) are not supported: results are ordered by time"
    else:
        what = f"unsupported query element {type(node).__name__}"
    return SearchError(what, node.pos)
