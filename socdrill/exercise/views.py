"""What an exercise looks like to a given person, as plain data (pages and API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socdrill.exercise.clock import clock_for
from socdrill.models import Exercise, Role, User

CONTROL_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def exercise_summary(exercise: Exercise, user: User, now: datetime) -> dict[str, Any]:
    """Public fields for everyone who may see the exercise; plan details for control."""
    clock = clock_for(exercise)
    wall = now.timestamp()
    data: dict[str, Any] = {
        "id": exercise.id,
        "name": exercise.name,
        "state": exercise.state.value,
        "announced": exercise.announced,
        "scenario_id": exercise.scenario_id,
        "tenant": exercise.tenant.slug,
        "team": exercise.team.name,
        "started_at": _iso(exercise.started_at),
        "ended_at": _iso(exercise.ended_at),
        "speed_factor": exercise.speed_factor,
        "emergency": exercise.emergency_at is not None,
        "clock": {
            "active_seconds": round(clock.active_seconds_at(wall), 3),
            "scenario_seconds": round(clock.scenario_seconds_at(wall), 3),
            "running": clock.running_at(wall),
        },
    }
    if user.role in CONTROL_ROLES or exercise.is_trusted_agent(user.id):
        data.update(
            {
                "seed": exercise.seed,
                "scheduled_start": _iso(exercise.scheduled_start),
                "window_start": _iso(exercise.window_start),
                "window_end": _iso(exercise.window_end),
                "blackout_dates": list(exercise.blackout_dates),
                "max_duration_seconds": exercise.max_duration_seconds,
                "catch_up_policy": exercise.catch_up_policy.value,
                "approvals": [a.approver.username for a in exercise.approvals],
                "trusted_agents": [a.user.username for a in exercise.trusted_agents],
            }
        )
    return data


def banners_for(exercises: list[Exercise], user: User) -> list[dict[str, str]]:
    """The exercise banner lines a person sees (announced, emergency, ENDEX)."""
    lines: list[dict[str, str]] = []
    for exercise in exercises:
        insider = user.role in CONTROL_ROLES or exercise.is_trusted_agent(user.id)
        if exercise.emergency_at is not None and exercise.active:
            lines.append(
                {
                    "kind": "emergency",
                    "text": "REAL-WORLD EMERGENCY: exercise play is stopped. "
                    "Follow your real incident procedure.",
                }
            )
        elif exercise.finished:
            lines.append(
                {
                    "kind": "endex",
                    "text": f"ENDEX: {exercise.name} was an exercise "
                    f"(scenario {exercise.scenario_id}).",
                }
            )
        elif exercise.active and (exercise.announced or insider):
            secret = "" if exercise.announced else " (unannounced; you are in the know)"
            state = exercise.state.value
            lines.append(
                {
                    "kind": "exercise",
                    "text": f"EXERCISE: {exercise.name} is {state}{secret}.",
                }
            )
    return lines
