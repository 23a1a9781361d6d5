"""Which names the search box may query, and the SQL that reads each of them.

A name is searchable when it is a base column analysts know (``host``, ``sensor``,
``ts`` …), a generated Sigma-field column (``Image``, ``EventID`` …), an ECS alias of
one (``process.command_line``), or any other *syntactically safe* name, which is read
from the event's JSON fields. Columns that scope or hold internal data (``tenant``,
``fields``) are never searchable, and nothing here reaches the ground-truth labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from siem.fields import GENERATED_FIELDS, Dialect, field_sql, resolve_search_field
from siem.search.errors import SearchError

FieldKind = Literal["text", "int", "ts", "json"]

#: Base columns of ``events`` that the search box may name, with their kind and
#: whether the column is declared ``COLLATE NOCASE``.
SEARCHABLE_COLUMNS: dict[str, tuple[FieldKind, bool]] = {
    "id": ("int", False),
    "uid": ("text", False),
    "ts": ("ts", False),
    "sensor": ("text", False),
    "host": ("text", True),
    "product": ("text", False),
    "category": ("text", False),
    "service": ("text", False),
    "exercise": ("text", False),
    "raw": ("text", False),
}
#: Base columns stored as ``''`` when the value is absent.
EMPTY_MEANS_MISSING = frozenset({"host", "product", "category", "service"})
#: Columns that are never searchable, with the reason shown to the user.
HIDDEN_COLUMNS = {
    "tenant": "the tenant is fixed by the session, not by the query",
    "fields": "search a field by its name instead, e.g. CommandLine:*whoami*",
}
# JSON keys we read: letters, digits, '_', '-', '@', with '.' between parts.
_SAFE_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_@-]*(?:\.[A-Za-z0-9_@-]+)*")
MAX_FIELD_NAME = 128


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A searchable field: the name as stored, the SQL reading it, how to compare it."""

    name: str
    sql: str
    kind: FieldKind
    # SQLite: declared COLLATE NOCASE, so '=' is case-free and indexable
    nocase: bool = False
    empty_is_missing: bool = False


def resolve(
    typed: str, position: int | None = None, dialect: Dialect = "sqlite"
) -> FieldRef:
    """The :class:`FieldRef` for a name typed in the search box, read in ``dialect``.

    Raises :class:`SearchError` (at ``position``) for a name that may not be searched.
    """
    name = resolve_search_field(typed)
    if name in HIDDEN_COLUMNS:
        raise SearchError(
            f"field {typed!r} cannot be searched: {HIDDEN_COLUMNS[name]}", position
        )
    if name in SEARCHABLE_COLUMNS:
        kind, nocase = SEARCHABLE_COLUMNS[name]
        return FieldRef(
            name, f"events.{name}", kind, nocase, name in EMPTY_MEANS_MISSING
        )
    if name in GENERATED_FIELDS:
        is_int = GENERATED_FIELDS[name] == "int"
        return FieldRef(
            name,
            "events." + field_sql(name),
            "int" if is_int else "text",
            nocase=not is_int,
        )
    if len(name) > MAX_FIELD_NAME or not _SAFE_NAME.fullmatch(name):
        raise SearchError(
            f"{typed!r} is not a valid field name: use letters, digits, '_', '-', "
            "'@' and '.' between parts (e.g. userIdentity.type)",
            position,
        )
    return FieldRef(
        name, field_sql(name, column="events.fields", dialect=dialect), "json"
    )
