"""Analyst search over the event store: Lucene syntax (luqum) → parameterised SQL.

Imports only the store and field vocabulary; never Flask, never the labels table.
"""

from siem.search.catalog import FieldRef, resolve
from siem.search.errors import SearchError
from siem.search.execute import (
    Bucket,
    Histogram,
    SearchResult,
    TopValues,
    histogram,
    iter_events,
    search,
    top_values,
)
from siem.search.translate import Condition, compile_query

__all__ = [
    "Bucket",
    "Condition",
    "FieldRef",
    "Histogram",
    "SearchError",
    "SearchResult",
    "TopValues",
    "compile_query",
    "histogram",
    "iter_events",
    "resolve",
    "search",
    "top_values",
]
