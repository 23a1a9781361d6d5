"""Event search for the console: the SIEM's Lucene search, scoped to one tenant.

The console adds what the SIEM cannot know: which tenant the person may read, a
time picker, saved searches, and one rule of exercise secrecy — participants can
neither search nor see the ``exercise`` column, because that would tell them which
events belong to a drill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from luqum.tree import Item, SearchField, Word

from siem.search import (
    SearchError,
    compile_query,
    histogram,
    resolve,
    search,
    top_values,
)
from siem.search.execute import Histogram, SearchResult, TopValues
from siem.search.translate import parse_tree, unescape_name
from socdrill import tenancy
from socdrill.console import siem_access
from socdrill.console.activity import Done
from socdrill.console.errors import Conflict, Invalid, NotFound
from socdrill.console.scope import tenant_by_slug, tenants_of
from socdrill.extensions import db
from socdrill.models import SavedSearch, Tenant, User

RANGES: dict[str, timedelta | None] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
DEFAULT_COLUMNS = ("product", "category", "raw")
SECRET_FIELDS = frozenset({"exercise"})
MAX_SAVED = 100
# Explicit bounds far outside any log (year 1, year 9999) would overflow the date
# arithmetic of histogram buckets; the picker accepts these years.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """The time picker's choice: a named range or explicit bounds."""

    range: str = "24h"
    start: datetime | None = None
    end: datetime | None = None

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and not EARLIEST <= value <= LATEST:
                raise Invalid(
                    f"the {name} must lie between {EARLIEST:%Y} and {LATEST:%Y}",
                    {name: "out of range"},
                )
        if self.start or self.end:
            if self.start and self.end and self.start >= self.end:
                raise Invalid(
                    "the start must come before the end", {"start": "after end"}
                )
            return self.start, self.end
        span = RANGES[self.range]
        return (now - span if span else None), None


def _fields_in(node: Item) -> list[tuple[str, int | None]]:
    """Every field name the query names, with its position."""
    found: list[tuple[str, int | None]] = []
    if isinstance(node, SearchField):
        name = unescape_name(node.name)
        if name == "_exists_" and isinstance(node.expr, Word):
            found.append((unescape_name(node.expr.value), node.expr.pos))
        else:
            found.append((name, node.pos))
    for child in node.children:
        found.extend(_fields_in(child))
    return found


def check_query(query: str, user: User) -> None:
    """Refuse exercise-revealing fields for participants (with the error position)."""
    if user.role in tenancy.CONTROL_ROLES or not query.strip():
        return
    tree = parse_tree(query)
    for name, position in _fields_in(tree):
        if resolve(name, position).name in SECRET_FIELDS:
            raise SearchError(f"field {name!r} cannot be searched", position)


def check_columns(columns: Sequence[str], user: User) -> list[str]:
    chosen = list(dict.fromkeys(columns)) or list(DEFAULT_COLUMNS)
    for column in chosen:
        ref = resolve(column)
        if ref.name in SECRET_FIELDS and user.role not in tenancy.CONTROL_ROLES:
            raise SearchError(f"column {column!r} cannot be shown")
    return chosen


def scope_tenant(slug: str, user: User) -> Tenant:
    """The tenant to search: the named one, or the person's first."""
    if slug:
        return tenant_by_slug(slug, user)
    tenants = tenants_of(user)
    if not tenants:
        raise NotFound("you monitor no tenant", {"tenant": "none in scope"})
    return tenants[0]


def run(
    user: User,
    query: str,
    *,
    tenant: Tenant,
    window: Window,
    columns: Sequence[str],
    limit: int,
    cursor: str | None,
    now: datetime | None = None,
) -> tuple[SearchResult, list[str]]:
    check_query(query, user)
    chosen = check_columns(columns, user)
    start, end = window.bounds(now or datetime.now(UTC))
    result = search(
        siem_access.event_store(),
        query,
        tenant=siem_access.tenant_key(tenant),
        start=start,
        end=end,
        limit=limit,
        cursor=cursor,
        columns=chosen,
    )
    return result, chosen


def run_histogram(
    user: User, query: str, *, tenant: Tenant, window: Window, buckets: int = 60
) -> Histogram:
    check_query(query, user)
    start, end = window.bounds(datetime.now(UTC))
    return histogram(
        siem_access.event_store(),
        query,
        tenant=siem_access.tenant_key(tenant),
        start=start,
        end=end,
        buckets=buckets,
    )


def run_top(
    user: User, query: str, field: str, *, tenant: Tenant, window: Window, n: int
) -> TopValues:
    check_query(query, user)
    check_columns([field], user)
    start, end = window.bounds(datetime.now(UTC))
    return top_values(
        siem_access.event_store(),
        query,
        field,
        tenant=siem_access.tenant_key(tenant),
        n=n,
        start=start,
        end=end,
    )


def event_detail(user: User, event_id: int) -> tuple[Tenant, Any]:
    """One event of ``user``'s tenants (raw line and fields)."""
    tenants = {siem_access.tenant_key(t): t for t in tenants_of(user)}
    found = siem_access.get_events([event_id], list(tenants))
    if not found:
        raise NotFound(f"no event {event_id} in your tenants")
    return tenants[found[0].tenant], found[0]


# --- saved searches ------------------------------------------------------------------


def saved_searches(user: User) -> list[SavedSearch]:
    allowed = [t.id for t in tenants_of(user)]
    return list(
        db.session.scalars(
            sa.select(SavedSearch)
            .where(SavedSearch.owner_id == user.id, SavedSearch.tenant_id.in_(allowed))
            .order_by(SavedSearch.name)
        )
    )


def save(
    user: User,
    *,
    name: str,
    query: str,
    tenant: Tenant,
    columns: Sequence[str],
    time_range: str,
) -> Done:
    try:
        check_query(query, user)
        chosen = check_columns(columns, user)
        siem_search_check(query)
    except SearchError as error:
        raise Invalid(str(error), {"query": error.message}) from None
    taken = db.session.scalar(
        sa.select(SavedSearch.id).where(
            SavedSearch.owner_id == user.id, SavedSearch.name == name
        )
    )
    if taken is not None:
        raise Conflict(
            f"you already have a saved search called {name!r}", {"name": "taken"}
        )
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SavedSearch)
        .where(SavedSearch.owner_id == user.id)
    )
    if (count or 0) >= MAX_SAVED:
        raise Conflict(f"at most {MAX_SAVED} saved searches; delete one first")
    row = SavedSearch(
        owner_id=user.id,
        tenant_id=tenant.id,
        name=name,
        query=query,
        columns=chosen,
        time_range=time_range,
    )
    db.session.add(row)
    db.session.flush()
    return Done(f"search {name!r} saved", {"saved_search_id": row.id})


def siem_search_check(query: str) -> None:
    """Compile ``query`` once, so a broken search is never saved."""
    compile_query(query)


def delete_saved(user: User, saved_search_id: int) -> Done:
    row = db.session.get(SavedSearch, saved_search_id)
    if row is None or row.owner_id != user.id:
        raise NotFound(f"no saved search {saved_search_id} of yours")
    db.session.delete(row)
    return Done("saved search deleted", {"saved_search_id": saved_search_id})
