"""The search page, its results fragment and the event detail."""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request

from siem.search import SearchError
from simulator import vocabulary
from socdrill.console import bp, responding, searching
from socdrill.console.errors import Invalid
from socdrill.console.scope import me, tenants_of

FIELD_HINTS = (
    ("EventID:4625", "a field equals a value"),
    ('CommandLine:"*whoami*"', "wildcards inside a phrase"),
    ("host:WS-0* AND NOT sensor:dns", "boolean operators, wildcards"),
    ("EventID:[4624 TO 4634]", "a range"),
    ("_exists_:DestinationIp", "the field is present"),
    ("mimikatz", "a word anywhere in the raw line"),
)


def _window() -> searching.Window:
    args = request.args
    chosen = args.get("range", "24h")
    if chosen not in searching.RANGES:
        raise Invalid(f"unknown time range {chosen!r}", {"range": "unknown"})

    def parse(name: str) -> datetime | None:
        raw = args.get(name, "").strip()
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise Invalid(
                f"{name} {raw!r} is not a date and time", {name: "invalid"}
            ) from None
        if value.tzinfo is None:
            raise Invalid(f"{name} needs a time zone, e.g. {raw}Z", {name: "no zone"})
        return value

    return searching.Window(chosen, parse("start"), parse("end"))


def _columns() -> list[str]:
    raw = request.args.get("columns", "")
    return [name.strip() for name in raw.split(",") if name.strip()][:20]


@bp.get("/console/search")
def search() -> str:
    user = me()
    return render_template(
        "console/search.html",
        tenants=tenants_of(user),
        ranges=list(searching.RANGES),
        hints=FIELD_HINTS,
        saved=searching.saved_searches(user),
        columns=",".join(_columns() or searching.DEFAULT_COLUMNS),
    )


@bp.get("/console/search/results")
def search_results() -> tuple[str, int] | str:
    """Results table (HTMX); a bad query answers 200 with the error and its place."""
    user = me()
    query = request.args.get("q", "")[:4000]
    try:
        tenant = searching.scope_tenant(request.args.get("tenant", ""), user)
        found, columns = searching.run(
            user,
            query,
            tenant=tenant,
            window=_window(),
            columns=_columns(),
            limit=50,
            cursor=request.args.get("cursor") or None,
        )
    except SearchError as error:
        return render_template("console/_search_error.html", error=error, query=query)
    return render_template(
        "console/_search_results.html",
        found=found,
        columns=columns,
        tenant=tenant,
        query=query,
    )


@bp.get("/console/events/<int:event_id>")
def event(event_id: int) -> str:
    """One event: raw line, every field (click to filter), response actions."""
    tenant, stored = searching.event_detail(me(), event_id)
    template = (
        "console/_event.html"
        if request.headers.get("HX-Request")
        else "console/event.html"
    )
    return render_template(
        template,
        tenant=tenant,
        stored=stored,
        actions=sorted(vocabulary.RESPONSE_ACTIONS),
        labels=responding.ACTION_LABELS,
    )
