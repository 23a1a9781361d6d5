"""Errors the console's domain code raises; the JSON API turns them into bodies
``{"error": {"code", "message", "fields"}}`` and pages into a message."""

from __future__ import annotations


class ConsoleError(Exception):
    """A refused action: nothing changed, and the message says why."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(ConsoleError):
    """Unknown, or outside the person's tenants or teams (both look the same)."""

    status = 404
    code = "not_found"


class Conflict(ConsoleError):
    """Not possible in the current state (a stale version, a closed alert …)."""

    status = 409
    code = "conflict"


class Invalid(ConsoleError):
    """A value is wrong; ``fields`` names each one."""

    status = 422
    code = "invalid"


class Forbidden(ConsoleError):
    status = 403
    code = "forbidden"
