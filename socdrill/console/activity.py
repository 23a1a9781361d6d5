"""Writing the activity log (the scorer's input) and answering retries once.

Every participant action runs through :func:`perform`: one write transaction that
first looks for an earlier action with the same idempotency key (a retry is answered
from it and changes nothing), then applies the change and appends its activity row.
A key is unique within an exercise: reusing it for a different request (another
endpoint or body, or another person) is refused with a 409 and changes nothing.
Rows use the scorer's vocabulary (``scoring.model.ACTIONS``); the payload is
``{"targets": [...], "ticket": "INC-7" | None, "fields": {...}, "result": {...},
"request": "<fingerprint>"}``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from scoring.model import ACTIONS
from socdrill.console.errors import Conflict, Invalid
from socdrill.database import write_transaction
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import Activity, Exercise, User, utcnow

KEY_HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
KEY_REUSED = (
    "this Idempotency-Key was already used for a different request; "
    "send a new key for a new action"
)


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


def request_fingerprint() -> str:
    """What the current request asks for (method, path and JSON body), hashed.

    Stored with the activity rows, so a later request with the same key can be told
    apart: the same fingerprint is a retry, another one a misused key. Empty outside
    a request.
    """
    if not has_request_context():
        return ""
    body = request.get_json(silent=True) if request.is_json else None
    text = json.dumps(
        [request.method, request.path, body],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class KeyTaken(Exception):  # noqa: N818  (a signal, not an error)
    """An earlier action of the exercise holds the key (raised while recording)."""

    def __init__(self, rows: list[Activity]) -> None:
        super().__init__("idempotency key taken")
        self.rows = rows


class Recorder:
    """Collects the activity rows of one action (one per exercise it touches)."""

    def __init__(self, actor: User, key: str, fingerprint: str = "") -> None:
        self.actor = actor
        self.key = key
        self.fingerprint = fingerprint
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
        ticket_fields: dict[str, Any] | None = None,
    ) -> Activity | None:
        """Append one activity row; nothing outside an exercise (nothing to score).

        ``ticket_fields`` are the ticket fields the same action set (escalating
        alerts opens or extends a ticket): the scorer reads them as a ticket update.
        """
        if kind not in ACTIONS:
            raise ValueError(f"{kind!r} is not in the scorer's action vocabulary")
        if exercise is None:
            return None
        taken = holders(exercise.id, self.key)
        if taken:
            raise KeyTaken(taken)
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
                "request": self.fingerprint,
                **({"ticket_fields": ticket_fields} if ticket_fields else {}),
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


def holders(exercise_id: int, key: str) -> list[Activity]:
    """Rows of the exercise written with ``key`` (by anybody)."""
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.exercise_id == exercise_id, Activity.idempotency_key == key)
            .order_by(Activity.id)
        )
    )


def _same_request(rows: list[Activity], actor: User, fingerprint: str) -> bool:
    """Whether ``rows`` were written by this very request, sent again."""
    for row in rows:
        if row.actor_id != actor.id:
            return False
        stored = (row.payload or {}).get("request") or ""
        if stored and fingerprint and stored != fingerprint:
            return False
    return True


def _answer(rows: list[Activity], actor: User, fingerprint: str) -> Done:
    """The original result of a retry, or a 409 for a key reused elsewhere."""
    if not _same_request(rows, actor, fingerprint):
        raise Conflict(KEY_REUSED, {KEY_HEADER: "already used for another request"})
    return _replay(rows)


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
    fingerprint = request_fingerprint()
    recorder = Recorder(actor, key, fingerprint)
    try:
        with write_transaction():
            rows = earlier(actor, key)
            if rows:
                return _answer(rows, actor, fingerprint)
            done = action(recorder)
            for row in recorder.rows:
                row.payload = {**row.payload, "result": done.data}
            db.session.flush()
            done.activity_ids = [row.id for row in recorder.rows]
            return done
    except KeyTaken as taken:
        # The transaction was rolled back: answer from the action holding the key.
        return _answer(taken.rows, actor, fingerprint)
    except sa.exc.IntegrityError:
        # A concurrent request with the same key committed first; its effect stands.
        exercise_ids = {row.exercise_id for row in recorder.rows}
        for exercise_id in sorted(exercise_ids):
            rows = holders(exercise_id, key)
            if rows:
                return _answer(rows, actor, fingerprint)
        raise
