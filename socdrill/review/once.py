"""Answering a retried API request once: the ``Idempotency-Key`` header.

A state-changing review call that carries the header stores its answer with the key
in the same transaction as its effect; a retry with the same key gets the stored
answer (``replayed: true``) and changes nothing. Without the header every call acts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from flask import request
from pydantic import BaseModel

from socdrill.console.activity import KEY_HEADER, KEY_PATTERN
from socdrill.console.errors import Conflict, Invalid
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import ReviewRequest, User

Answer = TypeVar("Answer", bound=BaseModel)


def _earlier(user: User, key: str) -> ReviewRequest | None:
    return db.session.scalar(
        sa.select(ReviewRequest).where(
            ReviewRequest.user_id == user.id, ReviewRequest.key == key
        )
    )


def _replay(row: ReviewRequest, endpoint: str, model: type[Answer]) -> Answer:
    if row.endpoint != endpoint:
        raise Conflict(
            "this Idempotency-Key was already used for another request",
            {KEY_HEADER: "reused"},
        )
    return model.model_validate({**row.result, "replayed": True})


def once(
    user: User, endpoint: str, model: type[Answer], action: Callable[[], Answer]
) -> Answer:
    """Run ``action`` once per Idempotency-Key of ``user`` (every time without)."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return action()
    if not KEY_PATTERN.fullmatch(key):
        raise Invalid(
            "the Idempotency-Key header takes 1-64 letters, digits, '.', '_', ':' "
            "or '-'",
            {KEY_HEADER: "invalid key"},
        )
    try:
        with write_transaction():
            row = _earlier(user, key)
            if row is not None:
                return _replay(row, endpoint, model)
            answer = action()  # joins this transaction: effect and key commit together
            db.session.add(
                ReviewRequest(
                    user_id=user.id,
                    key=key,
                    endpoint=endpoint,
                    result=answer.model_dump(mode="json"),
                )
            )
            return answer
    except sa.exc.IntegrityError:
        # A concurrent retry with the same key committed first; its effect stands.
        row = _earlier(user, key)
        if row is None:
            raise
        return _replay(row, endpoint, model)
