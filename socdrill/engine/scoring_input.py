"""The scorer's input for one exercise, mapped from what the platform stored.

:func:`scoring_exercise` gathers the scenario's ground truth (bound to the roles the
exercise played against), the clock segments, the labels of the malicious events in
the SIEM, the alerts with their stage and the time they were raised, and the
activity log, and returns a :class:`scoring.Exercise` for
:func:`scoring.score_exercise`. The debrief pages reuse it.

Mapping rules:

- a stage's *entities* are its user and host roles (account names, host names),
  its *iocs* its attacker addresses and domains;
- a stage's scope comes from the sensors its events use (Sysmon → windows …);
- an alert belongs to the stage most of its labelled events belong to, and was
  raised when the engine announced it to control (else when its first event
  happened, through the clock);
- a crisis message was shown when it was delivered, or when control released it
  (held messages of an unannounced drill); replies are activity rows;
- activity rows whose kind the scorer does not know are left out;
- team members are the people of the exercised team with an analyst job.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from scoring import (
    Activity as ScoredActivity,
)
from scoring import (
    Alert as ScoredAlert,
)
from scoring import (
    ClockSegment,
    CrisisMessage,
    ExerciseClock,
    InjectEvidence,
    Precondition,
    RequiredResponse,
    Stage,
    TeamMember,
)
from scoring import (
    Exercise as ScoredExercise,
)
from scoring.model import ACTIONS
from siem.store import EventStore
from simulator.events import parse_iso
from simulator.scenario import Scenario
from simulator.scenario.attack import catalogue
from socdrill.engine.runtime import PlayError, load_exercise_scenario
from socdrill.exercise import journal
from socdrill.exercise.clock import clock_for
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    CrisisDelivery,
    EngineRuntime,
    Exercise,
    ExerciseClockSegment,
    ExerciseEvent,
    Job,
    Membership,
    StageOutcomeRecord,
    User,
)

SENSOR_SCOPES = {
    "sysmon": "windows",
    "windows_security": "windows",
    "powershell": "windows",
    "edr": "windows",
    "linux_auth": "linux",
    "auditd": "linux",
    "syslog": "linux",
    "firewall": "network",
    "proxy": "network",
    "dns": "network",
    "cloudtrail": "cloud",
    "idp_signin": "identity",
    "email_gateway": "email",
    "webserver": "web",
}
JOB_ROLES = {
    Job.L1_MONITORING: "L1",
    Job.L2_INVESTIGATION: "L2",
    Job.L3_RESPONSE: "L3",
    Job.LEAD: "lead",
}
CRITICAL_ROLES = frozenset({"dc", "erp", "ot", "scada"})
EXECUTED = {"fired": True, "prevented": False, "fallback": False, "missed": False}


class ScoringDataError(ValueError):
    """The exercise cannot be scored yet; the message says why."""


def scoring_exercise(exercise: Exercise, store: EventStore) -> ScoredExercise:
    """The scorer's view of ``exercise`` (which must have ended)."""
    if exercise.ended_at is None:
        raise ScoringDataError(
            f"exercise {exercise.id} is {exercise.state.value}: score after ENDEX"
        )
    try:
        scenario = load_exercise_scenario(exercise)
    except PlayError as error:
        raise ScoringDataError(str(error)) from None
    runtime = db.session.get(EngineRuntime, exercise.id)
    bindings: dict[str, str] = dict(runtime.bindings) if runtime else {}
    clock = _clock(exercise, runtime)
    outcomes = dict(
        db.session.execute(
            sa.select(StageOutcomeRecord.stage_id, StageOutcomeRecord.status).where(
                StageOutcomeRecord.exercise_id == exercise.id
            )
        ).all()
    )
    stages = tuple(
        scored_stage(scenario, stage, bindings, outcomes) for stage in scenario.stages
    )
    evidence, alerts = _siem(exercise, store, clock)
    return ScoredExercise(
        id=str(exercise.id),
        scenario=scenario.id,
        clock=clock,
        stages=stages,
        evidence=evidence,
        alerts=alerts,
        activity=scored_activity(exercise),
        announced=exercise.announced,
        technique_tactics=technique_tactics(),
        critical_assets=critical_assets(runtime.organisation if runtime else {}),
        team=_team(exercise),
        crisis=_crisis(exercise.id),
    )


def _crisis(exercise_id: int) -> tuple[CrisisMessage, ...]:
    rows = db.session.scalars(
        sa.select(CrisisDelivery)
        .where(CrisisDelivery.exercise_id == exercise_id)
        .order_by(CrisisDelivery.due_scenario_seconds, CrisisDelivery.id)
    ).all()
    messages = []
    for row in rows:
        shown = row.released_at if row.held else row.delivered_at
        messages.append(
            CrisisMessage(
                id=row.inject_id,
                channel=row.channel,
                sender=row.sender,
                shown_at=shown.timestamp() if shown is not None else None,
                reply_within=row.reply_within_seconds,
            )
        )
    return tuple(messages)


def _clock(exercise: Exercise, runtime: EngineRuntime | None) -> ExerciseClock:
    rows = db.session.scalars(
        sa.select(ExerciseClockSegment)
        .where(ExerciseClockSegment.exercise_id == exercise.id)
        .order_by(ExerciseClockSegment.seq)
    ).all()
    segments: list[ClockSegment] = []
    for row in rows:
        segment = ClockSegment(
            row.wall_start.timestamp(), row.speed_factor, not row.running
        )
        if segments and segment.start <= segments[-1].start:
            segments[-1] = segment  # two changes in the same instant: the last holds
        else:
            segments.append(segment)
    if not segments:
        raise ScoringDataError(f"exercise {exercise.id} never started")
    ended = exercise.ended_at.timestamp() if exercise.ended_at else None
    if ended is not None and ended < segments[-1].start:
        ended = segments[-1].start
    origin = runtime.origin if runtime else segments[0].start
    return ExerciseClock(segments, ended_at=ended, scenario_origin=origin)


def scored_stage(
    scenario: Scenario,
    stage: Any,
    bindings: dict[str, str],
    outcomes: dict[str, str],
) -> Stage:
    """The scorer's ground truth of ``stage``, its roles bound to their values, with
    what the play recorded (``outcomes``: stage id → fired/prevented/...)."""
    roles = scenario.environment.roles
    entities, iocs = [], []
    for role in stage.entities:
        spec = roles.get(role)
        value = bindings.get(role, role)
        if spec is not None and (
            spec.external_ip is not None or spec.domain is not None
        ):
            iocs.append(value)
        else:
            entities.append(value)
    techniques = tuple(stage.technique)
    known = catalogue().get(techniques[0])
    sensors = Counter(SENSOR_SCOPES.get(event.sensor) for event in stage.events)
    sensors.pop(None, None)
    scope = sensors.most_common(1)[0][0] if sensors else scenario.scopes[0]
    minutes = float(stage.duration or 0.0) / 60.0
    return Stage(
        id=stage.id,
        techniques=techniques,
        tactic=known.tactics[0] if known and known.tactics else "",
        tier=stage.tier,
        scope=scope,
        entities=tuple(entities),
        iocs=tuple(iocs),
        responses=tuple(
            RequiredResponse(action, bindings.get(role, role))
            for action, role in stage.expected_responses()
        ),
        requires=tuple(
            Precondition(condition, bindings.get(role, role))
            for condition, role in stage.conditions()
        ),
        # A stage with a duration (encryption, exfiltration) does its damage over
        # that time: the scenario's figure is the total if it runs to the end.
        damage=0.0 if minutes else float(stage.damage),
        damage_rate=float(stage.damage) / minutes if minutes else 0.0,
        duration=float(stage.duration or 0.0),
        difficulty=scenario.difficulty,
        executed=EXECUTED.get(outcomes.get(stage.id, "")),
    )


def _siem(
    exercise: Exercise, store: EventStore, clock: ExerciseClock
) -> tuple[list[InjectEvidence], list[ScoredAlert]]:
    key = str(exercise.id)
    raised = _raised_at(exercise.id)
    played = clock_for(exercise)
    with store.connect() as conn:
        evidence = [
            InjectEvidence(stage, parse_iso(ts))
            for stage, ts in conn.exec_driver_sql(
                "SELECT l.stage, e.ts FROM labels l JOIN events e ON e.id = l.event_id "
                "WHERE l.exercise = ? AND l.malicious ORDER BY e.id",
                (key,),
            )
        ]
        has_alerts = sa.inspect(conn).has_table("alerts")
        rows = (
            conn.exec_driver_sql(
                "SELECT a.id, a.first_ts, l.stage FROM alerts a "
                "JOIN alert_events ae ON ae.alert_id = a.id "
                "LEFT JOIN labels l ON l.event_id = ae.event_id AND l.malicious "
                "WHERE a.exercise = ? ORDER BY a.id",
                (key,),
            ).all()
            if has_alerts
            else []
        )
    stages: dict[int, Counter[str]] = defaultdict(Counter)
    first: dict[int, str] = {}
    for alert_id, first_ts, stage in rows:
        first[int(alert_id)] = first_ts
        if stage is not None:
            stages[int(alert_id)][stage] += 1
    alerts = []
    for alert_id, first_ts in first.items():
        counts = stages.get(alert_id)
        stage = counts.most_common(1)[0][0] if counts else None
        at = raised.get(alert_id)
        if at is None:
            wall = played.wall_time_for_scenario(
                parse_iso(first_ts) - clock.scenario_origin
            )
            at = wall if wall is not None else float(clock.ended_at or 0.0)
        alerts.append(ScoredAlert(id=str(alert_id), raised_at=at, stage=stage))
    return evidence, alerts


def _raised_at(exercise_id: int) -> dict[int, float]:
    """When the engine announced each alert to control (wall seconds)."""
    found: dict[int, float] = {}
    for payload, created in db.session.execute(
        sa.select(ExerciseEvent.payload, ExerciseEvent.created_at).where(
            ExerciseEvent.room == journal.control_room(exercise_id),
            ExerciseEvent.kind == "alert.new",
        )
    ):
        alert_id = payload.get("alert_id")
        if isinstance(alert_id, int) and alert_id not in found:
            found[alert_id] = created.timestamp()
    return found


def scored_activity(exercise: Exercise) -> list[ScoredActivity]:
    rows = db.session.execute(
        sa.select(Activity, User.username)
        .outerjoin(User, User.id == Activity.actor_id)
        .where(Activity.exercise_id == exercise.id, Activity.kind.in_(ACTIONS))
        .order_by(Activity.at, Activity.id)
    ).all()
    out = []
    for row, username in rows:
        payload = row.payload or {}
        targets = payload.get("targets") or ([row.target_id] if row.target_id else [])
        # After the retention purge a row has no account, only its pseudonym.
        alias = payload.get("actor") if row.actor_id is None else None
        actor = username or alias or f"user-{row.actor_id or 'system'}"
        ticket = payload.get("ticket")
        out.append(
            ScoredActivity(
                actor=actor,
                action=row.kind,
                at=row.at.timestamp(),
                targets=tuple(str(t) for t in targets),
                ticket=ticket,
                fields=dict(payload.get("fields") or {}),
            )
        )
        opened = payload.get("ticket_fields")
        if opened and ticket:
            # Escalating alerts opened or extended the ticket in the same action.
            out.append(
                ScoredActivity(
                    actor=actor,
                    action="ticket_update",
                    at=row.at.timestamp(),
                    ticket=ticket,
                    fields=dict(opened),
                )
            )
    return out


def technique_tactics() -> dict[str, tuple[str, ...]]:
    """Tactics of every ATT&CK technique, so that a reported technique outside the
    scenario still earns half credit when it shares a tactic with a true one (B4.4).
    """
    return {tid: known.tactics for tid, known in catalogue().techniques.items()}


def critical_assets(organisation: dict[str, Any]) -> frozenset[str]:
    """Hosts whose isolation stops the business (B4.5 charges 0.2, not 0.05): the
    domain controllers, and ERP or OT hosts where an organisation has them."""
    return frozenset(
        str(host["name"])
        for host in organisation.get("hosts") or []
        if host.get("kind") == "domain_controller" or host.get("role") in CRITICAL_ROLES
    )


def _team(exercise: Exercise) -> tuple[TeamMember, ...]:
    rows = db.session.execute(
        sa.select(User.username, Membership.job)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.team_id == exercise.team_id, Membership.left_at.is_(None))
        .order_by(User.username)
    ).all()
    members = {}
    for username, job in rows:
        role = JOB_ROLES.get(job) if job is not None else None
        if role is not None and username not in members:
            members[username] = TeamMember(id=username, role=role)
    return tuple(members.values())
