"""One detection rule as a SQLite query that reads each field of an event once.

A rule's fragment names generated columns (``"Image"``) and ``json_extract(fields,
'$."Field"')`` calls. SQLite computes a virtual generated column, and runs a
``json_extract``, at every reference -- each time parsing the event's JSON -- and
SigmaHQ has rules that compare one field with hundreds of values (a list of IP
ranges, of DLL names). :func:`rule_query` therefore reads the rule's events in a
materialised common table expression that holds each field the rule reads as a
column, computed once per event, and evaluates the fragment over it:

.. code-block:: sql

    WITH batch AS MATERIALIZED (
        SELECT group_concat(id) AS ids, "Image",
               json_extract(fields, '$."Signature"') AS "__field_0"
        FROM events NOT INDEXED WHERE <which events>
        GROUP BY "Image" COLLATE BINARY, typeof("Image"), ...)
    SELECT ids FROM batch WHERE ids IS NOT NULL AND <fragment, rewritten>

Events with the same values (same bytes, same type) are evaluated once, as one
group. A column of the CTE keeps the type affinity and collation of the column
it copies, and a ``json_extract`` column has none, as the call itself: every
comparison in the fragment behaves as it does over ``events``. A rule that reads
an event's whole text (``raw``, keywords) is evaluated event by event.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from siem.fields import GENERATED_FIELDS, quote_identifier

_HIT_COLUMNS = ("id", "ts", "host", "tenant", "exercise")
# A string literal (left alone), a JSON read of the event's fields, or a name.
_TOKEN = re.compile(
    r"'(?:[^']|'')*'"
    r"|(?P<call>json_extract\(fields, '(?:[^']|'')*'\))"
    r'|"(?P<quoted>(?:[^"]|"")*)"'
    r"|\b(?P<bare>raw|fields)\b"
)


@dataclass(slots=True, frozen=True)
class RuleQuery:
    """A rule's query in parts; :meth:`by_ids` and :meth:`by_range` assemble it."""

    #: what the rule reads: generated columns (quoted) and ``raw``/``fields``
    columns: tuple[str, ...]
    #: ``json_extract`` calls the rule makes, each with the name of its column
    calls: tuple[tuple[str, str], ...]
    #: the rule's fragment over those columns
    condition: str

    @property
    def grouped(self) -> bool:
        """Whether events are evaluated per distinct combination of the values
        the rule reads (not when it reads an event's whole text)."""
        return not {"raw", "fields"} & set(self.columns)

    def by_ids(self) -> str:
        """Query over the events whose ids a JSON array parameter lists."""
        return self._query(
            "events NOT INDEXED", "id IN (SELECT value FROM json_each(?))"
        )

    def by_range(self, triples: int) -> str:
        """Query over the events ``id > ? AND id <= ?`` of ``triples`` logsource
        triples, whose parts follow the two bounds as parameters."""
        if triples == 1:
            source = "events INDEXED BY ix_events_logsource"
            which = "product = ? AND category = ? AND service = ?"
        else:
            source = "events NOT INDEXED"
            values = ", ".join("(?, ?, ?)" for _ in range(triples))
            which = f"(product, category, service) IN (VALUES {values})"
        return self._query(source, f"id > ? AND id <= ? AND {which}")

    def _query(self, source: str, which: str) -> str:
        """The query: a row per matching event (the hit columns), or, when
        :attr:`grouped`, a row per matching combination of values (its event ids,
        comma-separated).

        Noise repeats itself: 500 candidate events of a rule comparing
        ``ImageLoaded`` with 400 DLL names often hold 20 distinct values. The
        groups are exact -- same bytes, same type -- so each is evaluated as any
        of its events would be.
        """
        reads = [*self.columns, *(f"{call} AS {name}" for call, name in self.calls)]
        if not self.grouped:
            return (
                "WITH batch AS MATERIALIZED (SELECT "  # noqa: S608
                f"{', '.join([*_HIT_COLUMNS, *reads])} FROM {source} WHERE {which}) "
                f"SELECT {', '.join(_HIT_COLUMNS)} FROM batch "
                f"WHERE {self.condition} ORDER BY id"
            )
        keys = [*self.columns, *(call for call, _ in self.calls)]
        group = ", ".join(f"{key} COLLATE BINARY, typeof({key})" for key in keys)
        return (
            "WITH batch AS MATERIALIZED (SELECT "  # noqa: S608
            f"{', '.join(['group_concat(id) AS ids', *reads])} "
            f"FROM {source} WHERE {which}{f' GROUP BY {group}' if group else ''}) "
            f"SELECT ids FROM batch WHERE ids IS NOT NULL AND {self.condition}"
        )


@functools.lru_cache(maxsize=16384)
def rule_query(fragment: str) -> RuleQuery:
    """The materialised form of a rule ``fragment`` over ``events``."""
    calls: dict[str, str] = {}
    columns: dict[str, None] = {}

    def rewrite(found: re.Match[str]) -> str:
        call, quoted, bare = found.group("call", "quoted", "bare")
        if call is not None:
            name = calls.get(call)
            if name is None:
                name = calls[call] = quote_identifier(f"__field_{len(calls)}")
            return name
        if quoted is not None:
            name = quoted.replace('""', '"')
            if name in GENERATED_FIELDS:
                columns[quote_identifier(name)] = None
        elif bare is not None:
            columns[bare] = None
        return found.group(0)

    condition = _TOKEN.sub(rewrite, fragment)
    return RuleQuery(tuple(columns), tuple(calls.items()), condition)
