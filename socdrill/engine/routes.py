"""JSON endpoints of the engine for control: the dry run and an exercise's play.

``POST /api/v1/engine/dry-run`` plays a library scenario (or an exercise's own
snapshot, against its tenant's organisation) into a scratch SIEM and answers the
per-stage report. ``GET /api/v1/engine/exercises/<id>`` shows control the ground
truth of a drill: stage outcomes, containment, crisis messages, engine status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from siem.rules import load_pack
from siem.sigma import LoadedRule
from simulator.binding import BindingError
from simulator.scenario import ScenarioError, load_scenario
from socdrill import tenancy
from socdrill.engine.actions import response_state
from socdrill.engine.dry_run import DryRunError, dry_run, parse_respond
from socdrill.engine.runtime import PlayError, tenant_organisation
from socdrill.exercise.planning import SCENARIO_ID, scenario_files
from socdrill.extensions import db
from socdrill.models import (
    CrisisDelivery,
    EngineRuntime,
    StageOutcomeRecord,
    User,
)
from socdrill.responses import fields

bp = Blueprint("engine", __name__, url_prefix="/api/v1/engine")
RULES_KEY = "socdrill_rule_pack"
MAX_SEED = 2**63


def rule_pack() -> list[LoadedRule]:
    """The bundled rule pack, loaded once per app."""
    rules = current_app.extensions.get(RULES_KEY)
    if rules is None:
        rules = current_app.extensions[RULES_KEY] = load_pack()
    return rules


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _bad(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"ok": False, "error": message}), status


@bp.post("/dry-run", endpoint="dry_run")
def dry_run_view() -> Any:
    """Dry-run ``scenario_id`` (library) or ``exercise_id`` with ``seed`` and
    optional ``respond`` (a list of ``{at, <action>: role-or-value}``)."""
    body = fields()
    seed = body.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        return _bad("seed must be a whole number between 0 and 2^63 - 1")
    score = body.get("score", False)
    if not isinstance(score, bool):
        return _bad("score must be true or false")
    try:
        responses = parse_respond(body.get("respond"), source="respond")
    except DryRunError as error:
        return _bad(str(error))
    exercise_id = body.get("exercise_id")
    scenario_id = body.get("scenario_id")
    try:
        if exercise_id is not None:
            if isinstance(exercise_id, bool) or not isinstance(exercise_id, int):
                return _bad("exercise_id must be a number")
            exercise = tenancy.exercise_or_404(exercise_id, _me())
            scenario = load_scenario(exercise.scenario_yaml)
            org = tenant_organisation(exercise.tenant, seed)
        elif isinstance(scenario_id, str) and SCENARIO_ID.match(scenario_id):
            path = _library_file(scenario_id)
            if path is None:
                return _bad(f"no scenario {scenario_id!r} in the library", 404)
            scenario = load_scenario(path)
            from simulator.environment import Organisation

            org = Organisation.build(seed, str(body.get("org_size") or "small"))
        else:
            return _bad("give scenario_id (from the library) or exercise_id")
        report = dry_run(scenario, org, seed, rule_pack(), responses, score=score)
    except ScenarioError as error:
        return _bad(f"the scenario is not valid: {error.problems[0]}", 422)
    except (DryRunError, PlayError, BindingError) as error:
        return _bad(str(error), 422)
    except ValueError as error:  # organisation size and similar inputs
        return _bad(str(error))
    return jsonify({"ok": True, "report": report.as_dict()})


def _library_file(scenario_id: str) -> Path | None:
    for path in scenario_files(Path(current_app.config["SCENARIOS_DIR"])):
        if path.stem == scenario_id:
            return path
    return None


@bp.get("/exercises/<int:exercise_id>")
def exercise_play(exercise_id: int) -> Any:
    """Ground truth of a drill for control."""
    exercise = tenancy.exercise_or_404(exercise_id, _me())
    runtime = db.session.get(EngineRuntime, exercise.id)
    outcomes = db.session.scalars(
        sa.select(StageOutcomeRecord)
        .where(StageOutcomeRecord.exercise_id == exercise.id)
        .order_by(StageOutcomeRecord.due_scenario_seconds, StageOutcomeRecord.id)
    ).all()
    deliveries = db.session.scalars(
        sa.select(CrisisDelivery)
        .where(CrisisDelivery.exercise_id == exercise.id)
        .order_by(CrisisDelivery.id)
    ).all()
    return jsonify(
        {
            "exercise_id": exercise.id,
            "engine": (
                {
                    "status": runtime.status.value,
                    "last_error": runtime.last_error,
                    "horizon": runtime.horizon,
                    "delivered_until": runtime.delivered_until,
                    "bindings": runtime.bindings,
                }
                if runtime
                else None
            ),
            "stages": [
                {
                    "stage": row.stage_id,
                    "status": row.status,
                    "due": row.due_scenario_seconds,
                    "technique": row.technique,
                    "tier": row.tier,
                    "reason": row.reason,
                    "fallback": row.fallback,
                    "events": row.event_count,
                }
                for row in outcomes
            ],
            "containment": response_state(exercise.id),
            "crisis": [
                {
                    "id": row.id,
                    "inject": row.inject_id,
                    "channel": row.channel,
                    "from": row.sender,
                    "held": row.held,
                    "released": row.released_at is not None,
                    "replies": len(row.replies),
                }
                for row in deliveries
            ],
        }
    )
