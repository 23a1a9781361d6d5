"""Shared set-up for the review tests (no tests here).

The review pages read stored scores. These helpers build the scorer's input of the
specification's worked example (B9) directly from ``scoring.model`` types, moved in
time so that it ended just now and with its analysts renamed after accounts of the
test world, register it as the exercise's scoring source, and end the exercise the
way the platform records it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

import scoring
from scoring.skills import SkillState
from socdrill.console.errors import Conflict
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import Activity, Exercise, ExerciseState, Job, Role, User, utcnow
from socdrill.review.scores import set_scoring_source
from tests.unit.scoring import worked_example as b9
from tests.web.conftest import World, make_exercise, make_user

# B9's people, played by accounts of the test world (the lead is "lead").
NAMES = {"A1": "analyst", "A2": "ana2", "A3": "ana3", "L": "lead"}


def shifted_b9(
    exercise_id: int, ended_at: float, *, announced: bool = False, **overrides: Any
) -> scoring.Exercise:
    """The worked example ending at ``ended_at``, its actors renamed."""
    shift = ended_at - b9.wall(b9.END_MINUTE)
    base = b9.exercise()
    clock = scoring.ExerciseClock.from_transitions(
        b9.START + shift,
        [
            (b9.START + shift + 60.0 * b9.PAUSE_AT, "pause", None),
            (
                b9.START + shift + 60.0 * (b9.PAUSE_AT + b9.PAUSE_MINUTES),
                "resume",
                None,
            ),
        ],
        ended_at=ended_at,
    )

    def person(name: str) -> str:
        return NAMES.get(name, name)

    activity = []
    for row in base.activity:
        fields = dict(row.fields)
        if "approved_by" in fields:
            fields["approved_by"] = person(fields["approved_by"])
        if "mentions" in fields:
            fields["mentions"] = [person(m) for m in fields["mentions"]]
        activity.append(
            dataclasses.replace(
                row, actor=person(row.actor), at=row.at + shift, fields=fields
            )
        )
    fields: dict[str, Any] = {
        "id": str(exercise_id),
        "clock": clock,
        "evidence": [dataclasses.replace(e, ts=e.ts + shift) for e in base.evidence],
        "alerts": [
            dataclasses.replace(a, raised_at=a.raised_at + shift) for a in base.alerts
        ],
        "activity": activity,
        "announced": announced,
        "team": tuple(dataclasses.replace(m, id=person(m.id)) for m in base.team),
    }
    fields.update(overrides)
    return dataclasses.replace(base, **fields)


def a2_prior(ended_at: float) -> dict[str, dict[tuple[str, str], SkillState]]:
    shift = ended_at - b9.wall(b9.END_MINUTE)
    return {
        NAMES[name]: {
            cell: dataclasses.replace(state, updated_at=(state.updated_at or 0) + shift)
            for cell, state in cells.items()
        }
        for name, cells in b9.a2_prior().items()
    }


class ReviewWorld:
    """The test world plus B9's other analysts and a registry of scorer inputs."""

    def __init__(self, app: Any, world: World) -> None:
        self.app = app
        self.world = world
        self.ana2 = make_user(
            "ana2", Role.ANALYST, team=world.team_a, job=Job.L2_INVESTIGATION
        )
        self.ana3 = make_user(
            "ana3", Role.ANALYST, team=world.team_a, job=Job.L1_MONITORING
        )
        self.inputs: dict[int, scoring.Exercise] = {}
        set_scoring_source(app, self.source)

    def source(self, exercise: Exercise) -> scoring.Exercise:
        scored = self.inputs.get(exercise.id)
        if scored is None:
            raise Conflict(f"no recorded run for exercise {exercise.id}")
        return scored

    def end(self, exercise: Exercise, **overrides: Any) -> Exercise:
        """ENDEX ``exercise`` now and record B9 as what happened in it."""
        now = utcnow()
        ended_at = now.timestamp()
        scored = shifted_b9(exercise.id, ended_at, **overrides)
        with write_transaction():
            row = db.session.get(Exercise, exercise.id)
            assert row is not None
            row.state = ExerciseState.ENDED
            row.started_at = datetime.fromtimestamp(scored.clock.segments[0].start, UTC)
            row.ended_at = now
            row.announced = scored.announced
            self._record_activity(row, scored)
        self.inputs[exercise.id] = scored
        return row

    @staticmethod
    def _record_activity(exercise: Exercise, scored: scoring.Exercise) -> None:
        """The activity log as the console writes it, for the personal timeline."""
        users = {u.username: u.id for u in db.session.scalars(sa.select(User))}
        for i, item in enumerate(scored.activity):
            if item.actor not in users:
                continue
            db.session.add(
                Activity(
                    exercise_id=exercise.id,
                    actor_id=users[item.actor],
                    at=datetime.fromtimestamp(item.at, UTC),
                    active_seconds=scored.clock.active_at(item.at),
                    kind=item.action,
                    target_id=(item.targets[0] if item.targets else "")[:80],
                    payload={
                        "targets": list(item.targets),
                        "ticket": item.ticket,
                        "fields": dict(item.fields),
                    },
                    idempotency_key=f"b9-{exercise.id}-{i}",
                )
            )

    def new_exercise(self, name: str, **overrides: Any) -> Exercise:
        """Another exercise of team A, ended with B9."""
        exercise = make_exercise(
            self.world.tenant_a, self.world.team_a, self.world.manager, name=name
        )
        return self.end(exercise, **overrides)
