"""The one exception search raises for anything the user typed or passed wrong."""

from __future__ import annotations


class SearchError(ValueError):
    """A query, field, range, time bound or cursor the search cannot run.

    ``position`` is the character offset in the query where the problem starts (``None``
    when the problem is not in the query text, e.g. a bad time bound).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} (at character {self.position})"
