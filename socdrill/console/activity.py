"""Writing the activity log (the scorer's input) and answering retries once.

Every participant action runs through :func:`perform`: one write transaction that
first looks for an earlier action with the same idempotency key (a retry is answered
from it and changes nothing), then applies the change and appends its activity row.
Rows use the scorer's vocabulary (``scoring.model.ACTIONS``); the payload is
``{"targets": [...], "ticket": "INC-7" | None, "fields": {...}, "result": {...}}``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from scoring.model import ACTIONS
from socdrill.console.errors import Invalid
from socdrill.database import write_transaction
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import Activity, Exercise, User, utcnow

KEY_HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass
class Done:
    """What an action did, for the API's ``ActionResult`` and the pages."""

    message: str
    data: dict[str, Any] = field(default_factory=dict)
    activity_ids: list[int] = field(default_factory=list)
    replayed: bool = False


def request_key() -> str:
    """The request's Idempotency-Key, or a fresh one when the client sent none."""
    raw = request.headers.get(KEY_HEADER) if has_request_context() else None
    if raw is None:
        return uuid.uuid4().hex
    if not KEY_PATTERN.fullmatch(raw):
        raise Invalid(
            "the Idempotency-Key header takes 1-64 letters, digits, '.', '_', ':' "
            "or '-'",
            {KEY_HEADER: "invalid key"},
        )
    return raw


class Recorder:
    """Collects the activity rows of one action (one per exercise it touches)."""

    def __init__(self, actor: User, key: str) -> None:
        self.actor = actor
        self.key = key
        self.rows: list[Activity] = []

    def record(
        self,
        exercise: Exercise | None,
        kind: str,
        targets: Iterable[str | int],
        *,
        target_type: str = "",
        ticket: str | None = None,
        fields: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> Activity | None:
        """Append one activity row; nothing outside an exercise (nothing to score)."""
        if kind not in ACTIONS:
            raise ValueError(f"{kind!r} is not in the scorer's action vocabulary")
        if exercise is None:
            return None
        now = utcnow()
        target_list = [str(target) for target in targets]
        row = Activity(
            exercise_id=exercise.id,
            actor_id=self.actor.id,
            at=now,
            active_seconds=clock_for(exercise).active_seconds_at(now.timestamp()),
            kind=kind,
            target_type=target_type[:40],
            target_id=(target_list[0] if target_list else "")[:80],
            payload={
                "targets": target_list,
                "ticket": ticket,
                "fields": fields or {},
                "result": result or {},
            },
            idempotency_key=self.key,
        )
        db.session.add(row)
        self.rows.append(row)
        return row


def earlier(actor: User, key: str) -> list[Activity]:
    """Rows an earlier request of ``actor`` wrote with ``key``."""
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.actor_id == actor.id, Activity.idempotency_key == key)
            .order_by(Activity.id)
        )
    )


def _replay(rows: list[Activity]) -> Done:
    result = dict(rows[0].payload.get("result") or {})
    return Done(
        message="already done: this request was received before, nothing changed",
        data=result,
        activity_ids=[row.id for row in rows],
        replayed=True,
    )


def perform(actor: User, key: str, action: Callable[[Recorder], Done]) -> Done:
    """Run ``action`` once per idempotency key, in one write transaction."""
    recorder = Recorder(actor, key)
    try:
        with write_transaction():
            rows = earlier(actor, key)
            if rows:
                return _replay(rows)
            done = action(recorder)
            for row in recorder.rows:
                row.payload = {**row.payload, "result": done.data}
            db.session.flush()
            done.activity_ids = [row.id for row in recorder.rows]
            return done
    except sa.exc.IntegrityError:
        # A concurrent retry with the same key committed first; its effect stands.
        rows = earlier(actor, key)
        if rows:
            return _replay(rows)
        raise
