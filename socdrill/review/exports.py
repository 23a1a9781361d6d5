"""CSV and JSON exports of the review tables, each carrying the exercise marker.

An export is one :class:`~socdrill.review.tables.Table` the reader already sees on
the page, so it carries nothing more. Everything that leaves the platform is marked
as exercise data: the CSV's first line and the JSON's ``marker`` say ``[EXERCISE]``,
the file name starts with ``EXERCISE`` and the answer carries ``X-Exercise-Id`` when
it belongs to one exercise. Cells that a spreadsheet would run as a formula are
quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from flask import Response

from socdrill.console.errors import Invalid
from socdrill.review.tables import Table

MARKER = "[EXERCISE]"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = orjson.dumps(value, default=str).decode()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table, context: str) -> str:
    """The table as CSV: a marker line, the column keys, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # One plain cell (no comma, nothing to quote), so the file starts with the marker.
    writer.writerow([f"{MARKER} socdrill exercise data: {context} {table.name}"])
    writer.writerow(table.column_keys())
    for row in table.rows:
        writer.writerow([_cell(row.get(key)) for key in table.column_keys()])
    return out.getvalue()


def to_json(table: Table, context: str) -> bytes:
    body = {"marker": MARKER, "context": context, **table.as_json()}
    return orjson.dumps(body, default=str, option=orjson.OPT_INDENT_2)


def pick(tables: Sequence[Table], name: str) -> Table:
    """The named table, or a clear error listing the ones there are."""
    for table in tables:
        if table.name == name:
            return table
    names = ", ".join(sorted(t.name for t in tables)) or "none"
    raise Invalid(
        f"no table {name!r} here; tables you can export: {names}",
        {"table": "unknown table"},
    )


def respond(
    table: Table, fmt: str, context: str, *, exercise_id: int | None = None
) -> Response:
    """A download of ``table`` as ``fmt`` (csv or json)."""
    stem = SAFE_NAME.sub("-", f"EXERCISE-{context}-{table.name}").strip("-")
    if fmt == "json":
        response = Response(to_json(table, context), mimetype="application/json")
    else:
        response = Response(to_csv(table, context).encode("utf-8"), mimetype="text/csv")
        response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    if exercise_id is not None:
        response.headers["X-Exercise-Id"] = str(exercise_id)
    return response
