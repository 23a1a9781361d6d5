"""Response actions: the one function the JSON API and the console call.

:func:`perform_response` records the action (one ``response`` activity row with
the actor and the time, idempotent by the client's action id), appends it to the
exercise's response history and refreshes the persisted response state, all in one
write transaction. The engine applies it to the attacker's timeline at the time it
took effect, and writes the logs the real tool would write into the SIEM, so later
stages whose ``requires`` no longer hold are prevented or switch to their fallback.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from simulator import vocabulary
from simulator.environment import Organisation
from simulator.responses import ResponseError, ResponseState, target_key
from simulator.scenario.problems import did_you_mean
from simulator.sensors.base import SensorContext
from socdrill.database import write_transaction
from socdrill.engine.runtime import PlayError, ensure_runtime
from socdrill.exercise import journal
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    EngineRuntime,
    Exercise,
    ExerciseState,
    ResponseActionRecord,
    ResponseStateRecord,
    User,
    utcnow,
)

CLIENT_ACTION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$"
)
MAX_TARGET = 200
STATE_SETS = (
    "isolated_hosts",
    "disabled_accounts",
    "reset_passwords",
    "blocked_ips",
    "blocked_domains",
    "revoked_sessions",
    "disabled_keys",
)


class ResponseActionError(ValueError):
    """The action was refused; nothing changed. ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """What :func:`perform_response` did (or did before, for a retry)."""

    exercise_id: int
    action: str
    target: str
    activity_id: int
    seq: int
    scenario_seconds: float
    replayed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "exercise_id": self.exercise_id,
            "action": self.action,
            "target": self.target,
            "activity_id": self.activity_id,
            "seq": self.seq,
            "replayed": self.replayed,
            "message": self.message,
        }


def perform_response(
    exercise: Exercise | int,
    action: str,
    target: str,
    actor: User | None,
    client_action_id: str,
    *,
    now: datetime | None = None,
) -> ResponseResult:
    """Take ``action`` on ``target`` in the exercise's sandbox, once per id.

    ``target`` names a host, an account, an address or a domain of the tenant's
    environment. Raises :class:`ResponseActionError` for bad input or an exercise
    that is not in play; a retry with the same ``client_action_id`` returns the
    first result and changes nothing.
    """
    exercise_id = exercise if isinstance(exercise, int) else exercise.id
    action = (action or "").strip()
    text = (target or "").strip()
    _check_input(action, text, client_action_id)
    now = now or utcnow()
    earlier = _earlier(exercise_id, client_action_id)
    if earlier is not None:
        return earlier
    row = db.session.get(Exercise, exercise_id)
    if row is None:
        raise ResponseActionError(f"exercise {exercise_id} does not exist", 404)
    if row.state not in (ExerciseState.RUNNING, ExerciseState.PAUSED):
        raise ResponseActionError(
            f"exercise {exercise_id} is {row.state.value}: response actions need "
            "an exercise in play",
            409,
        )
    try:
        runtime = ensure_runtime(row)
    except PlayError as error:
        raise ResponseActionError(f"the sandbox is not ready: {error}", 409) from None
    key = _validated_target(action, text, runtime)
    try:
        return _record(exercise_id, action, key, actor, client_action_id, now)
    except sa.exc.IntegrityError:
        # A concurrent retry with the same id committed first; its effect stands.
        db.session.rollback()
        again = _earlier(exercise_id, client_action_id)
        if again is None:
            raise
        return again


def _check_input(action: str, target: str, client_action_id: str) -> None:
    if action not in vocabulary.RESPONSE_ACTIONS:
        raise ResponseActionError(
            f"unknown response action {action!r}"
            f"{did_you_mean(action, vocabulary.RESPONSE_ACTIONS)}"
        )
    if not target:
        raise ResponseActionError(f"{action}: name the target")
    if len(target) > MAX_TARGET or any(ord(ch) < 32 for ch in target):
        raise ResponseActionError(f"{action}: the target is not a valid name")
    if not isinstance(client_action_id, str) or not CLIENT_ACTION_ID.match(
        client_action_id
    ):
        raise ResponseActionError(
            "client_action_id takes 1-64 letters, digits, '.', '_', ':' or '-'"
        )


def _validated_target(action: str, target: str, runtime: EngineRuntime) -> str:
    """The state key of ``target``, after checking the sandbox has such a thing."""
    kind = vocabulary.RESPONSE_ACTIONS[action]
    key = target_key(target)
    if kind == "external_ip":
        try:
            return ipaddress.ip_address(key).compressed
        except ValueError:
            raise ResponseActionError(
                f"{action}: {target!r} is not an IP address"
            ) from None
    if kind == "domain":
        if not DOMAIN.match(key):
            raise ResponseActionError(f"{action}: {target!r} is not a domain name")
        return key
    # Hosts and accounts must exist: a dry apply writes the tool's log or refuses.
    org = Organisation.from_dict(runtime.organisation)
    ctx = SensorContext(org=org, rng=random.Random(0))  # noqa: S311 - not security
    try:
        ResponseState().apply(action, key, runtime.origin, ctx)
    except ResponseError as error:
        raise ResponseActionError(str(error)) from None
    except KeyError:
        raise ResponseActionError(f"{action}: no {kind} called {target!r}") from None
    return key


def _earlier(exercise_id: int, client_action_id: str) -> ResponseResult | None:
    found = db.session.execute(
        sa.select(Activity, ResponseActionRecord)
        .outerjoin(
            ResponseActionRecord, ResponseActionRecord.activity_id == Activity.id
        )
        .where(
            Activity.exercise_id == exercise_id,
            Activity.idempotency_key == client_action_id,
        )
    ).first()
    if found is None:
        return None
    activity, record = found
    if activity.kind != "response" or record is None:
        raise ResponseActionError(
            "client_action_id was already used for a different action", 409
        )
    return ResponseResult(
        exercise_id=exercise_id,
        action=record.action,
        target=record.target,
        activity_id=activity.id,
        seq=record.seq,
        scenario_seconds=record.scenario_seconds,
        replayed=True,
        message="already done: this action was received before, nothing changed",
    )


def _record(
    exercise_id: int,
    action: str,
    key: str,
    actor: User | None,
    client_action_id: str,
    now: datetime,
) -> ResponseResult:
    with write_transaction():
        exercise = db.session.scalar(
            sa.select(Exercise)
            .where(Exercise.id == exercise_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if exercise is None or exercise.state not in (
            ExerciseState.RUNNING,
            ExerciseState.PAUSED,
        ):
            raise ResponseActionError(
                f"exercise {exercise_id} is no longer in play", 409
            )
        runtime = db.session.get(EngineRuntime, exercise_id)
        clock = clock_for(exercise)
        wall = now.timestamp()
        # Never before what the engine has already played (see Play).
        scenario_seconds = max(
            clock.scenario_seconds_at(wall), runtime.horizon if runtime else 0.0
        )
        seq = (
            db.session.scalar(
                sa.select(sa.func.max(ResponseActionRecord.seq)).where(
                    ResponseActionRecord.exercise_id == exercise_id
                )
            )
            or 0
        ) + 1
        result = {"action": action, "target": key, "seq": seq}
        activity = Activity(
            exercise_id=exercise_id,
            actor_id=actor.id if actor else None,
            at=now,
            active_seconds=clock.active_seconds_at(wall),
            kind="response",
            target_type=vocabulary.RESPONSE_ACTIONS[action],
            target_id=key[:80],
            payload={
                "targets": [key],
                "ticket": None,
                "fields": {"action": action},
                "result": result,
            },
            idempotency_key=client_action_id,
        )
        db.session.add(activity)
        db.session.flush()
        db.session.add(
            ResponseActionRecord(
                exercise_id=exercise_id,
                seq=seq,
                action=action,
                target=key,
                target_key=key,
                actor_id=actor.id if actor else None,
                at=now,
                scenario_seconds=scenario_seconds,
                activity_id=activity.id,
            )
        )
        db.session.flush()
        _refresh_state(exercise_id, now)
        payload = {
            "action": action,
            "target": key,
            "by": actor.username if actor else "system",
            "at": now.isoformat(),
        }
        journal.append_event(
            exercise,
            "response.performed",
            {**payload, "scenario_seconds": round(scenario_seconds, 3)},
            room=journal.control_room(exercise_id),
        )
        if exercise.announced:
            journal.append_event(
                exercise,
                "response.performed",
                payload,
                room=journal.participant_room(exercise_id),
            )
        return ResponseResult(
            exercise_id=exercise_id,
            action=action,
            target=key,
            activity_id=activity.id,
            seq=seq,
            scenario_seconds=scenario_seconds,
            replayed=False,
            message=f"{action} {key}: done",
        )


def _refresh_state(exercise_id: int, now: datetime) -> None:
    """Rebuild the persisted state from the ordered history (inside the caller's
    transaction)."""
    state = ResponseState()
    for action, key in db.session.execute(
        sa.select(ResponseActionRecord.action, ResponseActionRecord.target_key)
        .where(ResponseActionRecord.exercise_id == exercise_id)
        .order_by(ResponseActionRecord.seq)
    ):
        state.apply(action, key, 0.0)
    snapshot = {name: sorted(getattr(state, name)) for name in STATE_SETS}
    record = db.session.get(ResponseStateRecord, exercise_id)
    if record is None:
        db.session.add(
            ResponseStateRecord(exercise_id=exercise_id, state=snapshot, updated_at=now)
        )
    else:
        record.state = snapshot
        record.updated_at = now


def response_state(exercise_id: int) -> dict[str, list[str]]:
    """The containment in effect (empty sets before the first action)."""
    record = db.session.get(ResponseStateRecord, exercise_id)
    base = {name: [] for name in STATE_SETS}
    return {**base, **(record.state if record else {})}
