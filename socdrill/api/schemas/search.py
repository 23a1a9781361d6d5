"""Schemas of event search, pivots and saved searches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from socdrill.api.schemas.common import Id, Input, Output

Range = Literal["15m", "1h", "4h", "24h", "7d", "30d", "all"]
Query = Field("", max_length=4000, description="Lucene syntax, e.g. EventID:4625")
Column = Field(default_factory=list, max_length=20)


class SearchWindow(Input):
    tenant: str = Field("", max_length=40, description="tenant slug; empty: your first")
    q: str = Query
    range: Range = "24h"
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class SearchQuery(SearchWindow):
    columns: list[str] = Column
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200)


class HistogramQuery(SearchWindow):
    buckets: int = Field(60, ge=1, le=500)


class TopQuery(SearchWindow):
    field: str = Field(min_length=1, max_length=128)
    n: int = Field(10, ge=1, le=100)


class SearchOut(Output):
    total: int
    total_exact: bool
    took_ms: float
    next_cursor: str | None
    columns: list[str]
    events: list[dict[str, Any]]


class BucketOut(Output):
    start: str
    count: int


class HistogramOut(Output):
    start: str
    end: str
    interval_s: int
    total: int
    buckets: list[BucketOut]


class ValueCount(Output):
    value: Any
    count: int


class TopOut(Output):
    field: str
    values: list[ValueCount]
    total: int
    missing: int


class EventOut(Output):
    id: int
    uid: str
    ts: str
    sensor: str
    host: str
    tenant: str
    logsource: dict[str, str | None]
    fields: dict[str, Any]
    raw: str


class SavedSearchBody(Input):
    name: str = Field(min_length=1, max_length=120)
    tenant: str = Field("", max_length=40)
    query: str = Query
    columns: list[str] = Column
    time_range: Range = "24h"


class SavedSearchOut(Output):
    id: int
    name: str
    tenant: str
    query: str
    columns: list[str]
    time_range: str
    created_at: datetime


class SavedSearchList(Output):
    saved_searches: list[SavedSearchOut]


class FindingBody(Input):
    """A hunting finding: a value the analyst asserts is malicious."""

    tenant: str = Field("", max_length=40)
    value: str = Field(min_length=1, max_length=255)
    event_id: Id | None = None
