"""Search endpoints: events, histogram, top values (pivots), event detail, saved
searches and hunting findings."""

from __future__ import annotations

from siem.search import SearchError
from simulator.events import iso_ms
from socdrill.api import bp
from socdrill.api.common import act, result
from socdrill.api.operations import operation
from socdrill.api.schemas.common import ActionResult
from socdrill.api.schemas.search import (
    BucketOut,
    EventOut,
    FindingBody,
    HistogramOut,
    HistogramQuery,
    SavedSearchBody,
    SavedSearchList,
    SavedSearchOut,
    SearchOut,
    SearchQuery,
    SearchWindow,
    TopOut,
    TopQuery,
    ValueCount,
)
from socdrill.console import hunting, searching
from socdrill.console.errors import Invalid
from socdrill.console.scope import me
from socdrill.database import write_transaction
from socdrill.models import SavedSearch

TAG = "search"


def _window(query: SearchWindow) -> searching.Window:
    return searching.Window(query.range, query.start, query.end)


def search_error(error: SearchError) -> Invalid:
    """A search the SIEM refused, with the position of the problem in ``q``."""
    fields = {"q": error.message}
    if error.position is not None:
        fields["q.position"] = str(error.position)
    return Invalid(str(error), fields)


@operation(
    bp,
    "/search",
    "GET",
    summary="Search events",
    tag=TAG,
    query=SearchQuery,
    response=SearchOut,
    errors=(404,),
)
def search_events(query: SearchQuery) -> SearchOut:
    """Events of one tenant matching a Lucene query, newest first. Errors name the
    character position of the problem in ``error.fields["q.position"]``."""
    user = me()
    tenant = searching.scope_tenant(query.tenant, user)
    try:
        found, columns = searching.run(
            user,
            query.q,
            tenant=tenant,
            window=_window(query),
            columns=query.columns,
            limit=query.limit,
            cursor=query.cursor,
        )
    except SearchError as error:
        raise search_error(error) from None
    return SearchOut(
        total=found.total,
        total_exact=found.total_exact,
        took_ms=round(found.took_ms, 2),
        next_cursor=found.next_cursor,
        columns=columns,
        events=found.events,
    )


@operation(
    bp,
    "/search/histogram",
    "GET",
    summary="Matching events over time",
    tag=TAG,
    query=HistogramQuery,
    response=HistogramOut,
    errors=(404,),
)
def search_histogram(query: HistogramQuery) -> HistogramOut:
    user = me()
    tenant = searching.scope_tenant(query.tenant, user)
    try:
        found = searching.run_histogram(
            user, query.q, tenant=tenant, window=_window(query), buckets=query.buckets
        )
    except SearchError as error:
        raise search_error(error) from None
    return HistogramOut(
        start=found.start,
        end=found.end,
        interval_s=found.interval_s,
        total=found.total,
        buckets=[BucketOut(start=b.start, count=b.count) for b in found.buckets],
    )


@operation(
    bp,
    "/search/top",
    "GET",
    summary="Most frequent values of a field (pivot)",
    tag=TAG,
    query=TopQuery,
    response=TopOut,
    errors=(404,),
)
def search_top(query: TopQuery) -> TopOut:
    user = me()
    tenant = searching.scope_tenant(query.tenant, user)
    try:
        found = searching.run_top(
            user, query.q, query.field, tenant=tenant, window=_window(query), n=query.n
        )
    except SearchError as error:
        raise search_error(error) from None
    return TopOut(
        field=found.field,
        values=[ValueCount(value=value, count=count) for value, count in found.values],
        total=found.total,
        missing=found.missing,
    )


@operation(
    bp,
    "/events/<int:event_id>",
    "GET",
    summary="One event: raw line and fields",
    tag=TAG,
    response=EventOut,
)
def event(event_id: int) -> EventOut:
    tenant, stored = searching.event_detail(me(), event_id)
    ev = stored.event
    return EventOut(
        id=stored.id,
        uid=ev.uid,
        ts=iso_ms(ev.ts),
        sensor=ev.sensor,
        host=ev.host,
        tenant=tenant.slug,
        logsource={
            "product": ev.product,
            "category": ev.category,
            "service": ev.service,
        },
        fields=dict(ev.fields),
        raw=ev.raw,
    )


def saved_out(row: SavedSearch) -> SavedSearchOut:
    from socdrill.extensions import db
    from socdrill.models import Tenant

    tenant = db.session.get(Tenant, row.tenant_id)
    return SavedSearchOut(
        id=row.id,
        name=row.name,
        tenant=tenant.slug if tenant else "",
        query=row.query,
        columns=list(row.columns),
        time_range=row.time_range,
        created_at=row.created_at,
    )


@operation(
    bp,
    "/saved-searches",
    "GET",
    summary="Your saved searches",
    tag=TAG,
    response=SavedSearchList,
)
def saved_searches() -> SavedSearchList:
    return SavedSearchList(
        saved_searches=[saved_out(row) for row in searching.saved_searches(me())]
    )


@operation(
    bp,
    "/saved-searches",
    "POST",
    summary="Save a search",
    tag=TAG,
    body=SavedSearchBody,
    response=ActionResult,
    status=201,
    errors=(404, 409),
)
def saved_search_create(body: SavedSearchBody) -> ActionResult:
    """Saved searches are personal settings: they write no activity row."""
    user = me()
    tenant = searching.scope_tenant(body.tenant, user)
    with write_transaction():
        done = searching.save(
            user,
            name=body.name,
            query=body.query,
            tenant=tenant,
            columns=body.columns,
            time_range=body.time_range,
        )
    return result(done)


@operation(
    bp,
    "/saved-searches/<int:saved_search_id>",
    "DELETE",
    summary="Delete a saved search",
    tag=TAG,
    response=ActionResult,
)
def saved_search_delete(saved_search_id: int) -> ActionResult:
    with write_transaction():
        done = searching.delete_saved(me(), saved_search_id)
    return result(done)


@operation(
    bp,
    "/findings",
    "POST",
    summary="Record a hunting finding",
    tag=TAG,
    body=FindingBody,
    response=ActionResult,
    errors=(404,),
)
def finding(body: FindingBody) -> ActionResult:
    """A value (host, account, address, hash, domain) the analyst asserts is
    malicious; written to the activity log as ``hunt_finding``."""
    return act(
        lambda rec: hunting.record_finding(rec, body.tenant, body.value, body.event_id)
    )
