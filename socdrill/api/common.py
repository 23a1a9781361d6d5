"""Helpers every API module shares: running an action once, serialising results."""

from __future__ import annotations

from collections.abc import Callable

from socdrill.api.schemas.common import ActionResult
from socdrill.console.activity import Done, Recorder, perform, request_key
from socdrill.console.scope import me


def act(action: Callable[[Recorder], Done]) -> ActionResult:
    """Run ``action`` for the signed-in person, once per Idempotency-Key."""
    done = perform(me(), request_key(), action)
    return result(done)


def result(done: Done) -> ActionResult:
    return ActionResult(
        message=done.message,
        activity_ids=done.activity_ids,
        replayed=done.replayed,
        data=done.data,
    )
