"""Checks an :class:`~scoring.model.Exercise` before anything is scored.

Every problem is a :class:`ScoringInputError` naming the place
(``activity[12].fields.verdict``) and what would be right. Labelled evidence is
checked while it is read (one pass over possibly millions of rows, in ``timings``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from scoring.errors import ScoringInputError
from scoring.model import (
    ACTIONS,
    GRADES,
    SEVERITY_NAMES,
    TICKET_FIELDS,
    TICKET_LIST_FIELDS,
    TICKET_TEXT_FIELDS,
    VERDICTS,
    Exercise,
    Stage,
)
from scoring.settings import TIERS, Settings
from simulator.vocabulary import CONDITIONS, RESPONSE_ACTIONS

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")


def _finite(value: object, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScoringInputError(path, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ScoringInputError(path, f"must be finite, got {value!r}")


def _choice(value: object, allowed: object, path: str) -> None:
    if value not in allowed:  # type: ignore[operator]
        names = ", ".join(sorted(str(a) for a in allowed))  # type: ignore[attr-defined]
        raise ScoringInputError(
            path, f"unknown value {value!r}; expected one of {names}"
        )


def validate_stage(stage: Stage, path: str, settings: Settings) -> None:
    """Check one stage's ground truth."""
    if not stage.id:
        raise ScoringInputError(f"{path}.id", "a stage needs an id")
    _choice(stage.tier, TIERS, f"{path}.tier")
    _choice(stage.difficulty, settings.difficulty_b, f"{path}.difficulty")
    if not stage.techniques:
        raise ScoringInputError(f"{path}.techniques", "at least one ATT&CK technique")
    for i, tech in enumerate(stage.techniques):
        if not TECHNIQUE_ID.match(tech):
            raise ScoringInputError(
                f"{path}.techniques[{i}]",
                f"{tech!r} is not an ATT&CK technique id like T1003 or T1003.001",
            )
    for name in ("damage", "damage_rate", "duration"):
        value = getattr(stage, name)
        _finite(value, f"{path}.{name}")
        if value < 0:
            raise ScoringInputError(f"{path}.{name}", "cannot be negative")
    if stage.damage_rate > 0 and stage.duration <= 0:
        raise ScoringInputError(
            f"{path}.duration", "a damage rate needs the impact's duration"
        )
    if stage.difficulty_b is not None:
        _finite(stage.difficulty_b, f"{path}.difficulty_b")
    for i, resp in enumerate(stage.responses):
        _choice(resp.action, RESPONSE_ACTIONS, f"{path}.responses[{i}].action")
        if not resp.target:
            raise ScoringInputError(f"{path}.responses[{i}].target", "needs a target")
    for i, pre in enumerate(stage.requires):
        _choice(pre.condition, CONDITIONS, f"{path}.requires[{i}].condition")


def _validate_activity_fields(
    action: str, fields: Mapping[str, object], targets: tuple[str, ...], path: str
) -> None:
    if action == "verdict":
        _choice(fields.get("verdict"), VERDICTS, f"{path}.fields.verdict")
    elif action == "response":
        _choice(fields.get("action"), RESPONSE_ACTIONS, f"{path}.fields.action")
        if len(targets) != 1:
            raise ScoringInputError(
                f"{path}.targets", "a response action has exactly one target"
            )
    elif action == "ticket_update":
        for key, value in fields.items():
            _choice(key, TICKET_FIELDS, f"{path}.fields")
            if key in TICKET_LIST_FIELDS and (
                isinstance(value, str) or not isinstance(value, list | tuple)
            ):
                raise ScoringInputError(f"{path}.fields.{key}", "must be a list")
            if key in TICKET_TEXT_FIELDS and not isinstance(value, str):
                raise ScoringInputError(f"{path}.fields.{key}", "must be text")
        if "severity" in fields:
            _choice(
                fields["severity"],
                (*TIERS, *SEVERITY_NAMES),
                f"{path}.fields.severity",
            )
    elif action == "handoff" and not fields.get("to"):
        raise ScoringInputError(f"{path}.fields.to", "a hand-off names its receiver")


def validate_exercise(exercise: Exercise, settings: Settings) -> None:
    """Raise :class:`ScoringInputError` for the first problem found."""
    if exercise.clock.ended_at is None:
        raise ScoringInputError(
            "clock.ended_at", "score after ENDEX: the exercise end is required"
        )
    _choice(exercise.staffing, ("staffed", "on_call"), "staffing")
    stage_ids: set[str] = set()
    for i, stage in enumerate(exercise.stages):
        validate_stage(stage, f"stages[{i}]", settings)
        if stage.id in stage_ids:
            raise ScoringInputError(
                f"stages[{i}].id", f"duplicate stage id {stage.id!r}"
            )
        stage_ids.add(stage.id)
    if not stage_ids:
        raise ScoringInputError("stages", "a scenario has at least one stage")
    alert_ids: set[str] = set()
    for i, alert in enumerate(exercise.alerts):
        _finite(alert.raised_at, f"alerts[{i}].raised_at")
        if alert.id in alert_ids:
            raise ScoringInputError(
                f"alerts[{i}].id", f"duplicate alert id {alert.id!r}"
            )
        alert_ids.add(alert.id)
        if alert.stage is not None and alert.stage not in stage_ids:
            raise ScoringInputError(
                f"alerts[{i}].stage", f"unknown stage {alert.stage!r}"
            )
        _choice(alert.difficulty, settings.difficulty_b, f"alerts[{i}].difficulty")
    for i, row in enumerate(exercise.activity):
        path = f"activity[{i}]"
        if not row.actor:
            raise ScoringInputError(f"{path}.actor", "every action has an actor")
        _choice(row.action, ACTIONS, f"{path}.action")
        _finite(row.at, f"{path}.at")
        if row.action in ("ticket_update", "report_sent") and not row.ticket:
            raise ScoringInputError(f"{path}.ticket", f"{row.action} needs a ticket id")
        if row.action == "hint":
            for target in row.targets:
                if target not in stage_ids:
                    raise ScoringInputError(
                        f"{path}.targets", f"a hint names stage ids; {target!r} is none"
                    )
        _validate_activity_fields(row.action, row.fields, row.targets, path)
    for i, grade in enumerate(exercise.ticket_grades):
        _choice(grade.grade, GRADES, f"ticket_grades[{i}].grade")
        _choice(grade.field, TICKET_TEXT_FIELDS, f"ticket_grades[{i}].field")
    members: set[str] = set()
    for i, member in enumerate(exercise.team):
        _choice(member.role, settings.role_shares, f"team[{i}].role")
        if member.id in members:
            raise ScoringInputError(f"team[{i}].id", f"duplicate member {member.id!r}")
        members.add(member.id)
        if member.present_seconds is not None:
            _finite(member.present_seconds, f"team[{i}].present_seconds")
            if member.present_seconds < 0:
                raise ScoringInputError(
                    f"team[{i}].present_seconds", "cannot be negative"
                )
    for value in exercise.par_runs:
        _finite(value, "par_runs")
    _validate_crisis(exercise)


def _validate_crisis(exercise: Exercise) -> None:
    seen: set[str] = set()
    for i, message in enumerate(exercise.crisis):
        path = f"crisis[{i}]"
        if not message.id:
            raise ScoringInputError(f"{path}.id", "a crisis message needs an id")
        if message.id in seen:
            raise ScoringInputError(f"{path}.id", f"duplicate message {message.id!r}")
        seen.add(message.id)
        if message.shown_at is not None:
            _finite(message.shown_at, f"{path}.shown_at")
        if message.reply_within is not None:
            _finite(message.reply_within, f"{path}.reply_within")
            if message.reply_within <= 0:
                raise ScoringInputError(f"{path}.reply_within", "must be positive")
