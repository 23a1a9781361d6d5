"""The control cell's endpoints: live view, activity log, pause, speed, ENDEX,
hints and crisis messages (managers, admins, and trusted agents where allowed)."""

from __future__ import annotations

from collections.abc import Callable

from socdrill.api import bp
from socdrill.api.common import act, result
from socdrill.api.operations import operation
from socdrill.api.schemas.common import ActionResult
from socdrill.api.schemas.control import (
    ActivityList,
    ActivityOut,
    ActivityQuery,
    ControlResult,
    CrisisBody,
    CrisisItem,
    EndexBody,
    HintBody,
    LiveOut,
    ProgressIncident,
    ProgressResponse,
    SpeedBody,
    StageOut,
)
from socdrill.console.errors import ConsoleError
from socdrill.console.scope import me
from socdrill.control import live
from socdrill.exercise import lifecycle
from socdrill.exercise.lifecycle import LifecycleError, Outcome
from socdrill.extensions import db
from socdrill.models import Activity, User, utcnow

TAG = "control"


class Refused(ConsoleError):
    def __init__(self, error: LifecycleError) -> None:
        super().__init__(str(error))
        self.status = error.status
        self.code = {403: "forbidden", 404: "not_found"}.get(error.status, "conflict")


def activity_out(row: Activity) -> ActivityOut:
    actor = db.session.get(User, row.actor_id) if row.actor_id else None
    return ActivityOut(
        id=row.id,
        at=row.at,
        active_seconds=round(row.active_seconds, 3),
        actor=actor.username if actor else None,
        kind=row.kind,
        target_type=row.target_type,
        target_id=row.target_id,
        payload=row.payload,
    )


@operation(
    bp,
    "/exercises/<int:exercise_id>/live",
    "GET",
    summary="Ground truth beside the team's progress",
    tag=TAG,
    response=LiveOut,
    errors=(403,),
)
def exercise_live(exercise_id: int) -> LiveOut:
    """For the exercise's control cell only: stage outcomes, alerts of the drill by
    triage status, incidents, response actions, crisis messages, activity."""
    exercise = live.exercise_for_control(exercise_id, me())
    state = live.live_state(exercise)
    return LiveOut(
        exercise_id=exercise.id,
        name=exercise.name,
        state=exercise.state.value,
        announced=exercise.announced,
        speed_factor=exercise.speed_factor,
        scenario_seconds=round(state.scenario_seconds, 3),
        active_seconds=round(state.active_seconds, 3),
        problem=state.problem,
        stages=[StageOut(**stage.__dict__) for stage in state.stages],
        alerts=state.alerts,
        incidents=[
            ProgressIncident(
                id=i.id,
                reference=i.reference,
                title=i.title,
                severity=i.severity,
                status=i.status.value,
            )
            for i in state.incidents
        ],
        responses=[
            ProgressResponse(seq=r.seq, action=r.action, target=r.target, at=r.at)
            for r in state.responses
        ],
        crisis=[
            CrisisItem(
                id=c.id,
                inject_id=c.inject_id,
                channel=c.channel,
                sender=c.sender,
                subject=c.subject,
                delivered_at=c.delivered_at,
                held=c.held,
                released_at=c.released_at,
                replies=len(c.replies),
            )
            for c in state.crisis
        ],
        activity_counts=state.activity_counts,
        activity=[activity_out(row) for row in state.activity],
    )


@operation(
    bp,
    "/exercises/<int:exercise_id>/activity",
    "GET",
    summary="The exercise's activity log (the scorer's input)",
    tag=TAG,
    query=ActivityQuery,
    response=ActivityList,
    errors=(403,),
)
def exercise_activity(exercise_id: int, query: ActivityQuery) -> ActivityList:
    exercise = live.exercise_for_control(exercise_id, me())
    rows = live.activity_log(exercise, limit=query.limit, after_id=query.after_id)
    return ActivityList(activity=[activity_out(row) for row in rows])


def _lifecycle(exercise_id: int, run: Callable[[User], Outcome]) -> ControlResult:
    user = me()
    live.exercise_for_control(exercise_id, user)
    try:
        outcome = run(user)
    except LifecycleError as error:
        raise Refused(error) from None
    return ControlResult(
        message=outcome.message, state=outcome.state.value, changed=outcome.changed
    )


@operation(
    bp,
    "/exercises/<int:exercise_id>/pause",
    "POST",
    summary="Pause the exercise",
    tag=TAG,
    response=ControlResult,
    errors=(409,),
)
def exercise_pause(exercise_id: int) -> ControlResult:
    return _lifecycle(exercise_id, lambda u: lifecycle.pause(exercise_id, u, utcnow()))


@operation(
    bp,
    "/exercises/<int:exercise_id>/resume",
    "POST",
    summary="Resume the exercise",
    tag=TAG,
    response=ControlResult,
    errors=(409,),
)
def exercise_resume(exercise_id: int) -> ControlResult:
    return _lifecycle(exercise_id, lambda u: lifecycle.resume(exercise_id, u, utcnow()))


@operation(
    bp,
    "/exercises/<int:exercise_id>/speed",
    "POST",
    summary="Change the speed",
    tag=TAG,
    body=SpeedBody,
    response=ControlResult,
    errors=(409,),
)
def exercise_speed(exercise_id: int, body: SpeedBody) -> ControlResult:
    return _lifecycle(
        exercise_id, lambda u: lifecycle.set_speed(exercise_id, u, body.speed, utcnow())
    )


@operation(
    bp,
    "/exercises/<int:exercise_id>/endex",
    "POST",
    summary="ENDEX: end the exercise",
    tag=TAG,
    body=EndexBody,
    response=ControlResult,
    errors=(409,),
)
def exercise_endex(exercise_id: int, body: EndexBody) -> ControlResult:
    """Idempotent: ending an ended exercise changes nothing (``changed`` false)."""
    return _lifecycle(
        exercise_id,
        lambda u: lifecycle.endex(exercise_id, u, utcnow(), body.reason),
    )


@operation(
    bp,
    "/exercises/<int:exercise_id>/hints",
    "POST",
    summary="Send the team a hint",
    tag=TAG,
    body=HintBody,
    response=ActionResult,
    status=201,
)
def exercise_hint(exercise_id: int, body: HintBody) -> ActionResult:
    """Shown in the team channel; the stage named counts as assisted (``hint``)."""
    exercise = live.exercise_for_control(exercise_id, me())
    return act(lambda rec: live.send_hint(rec, exercise, body.stage_id, body.text))


@operation(
    bp,
    "/exercises/<int:exercise_id>/crisis",
    "POST",
    summary="Deliver an ad-hoc crisis message",
    tag=TAG,
    body=CrisisBody,
    response=ActionResult,
    status=201,
)
def exercise_crisis(exercise_id: int, body: CrisisBody) -> ActionResult:
    user = me()
    exercise = live.exercise_for_control(exercise_id, user)
    return result(
        live.send_crisis_message(
            user,
            exercise,
            channel=body.channel,
            sender=body.sender,
            subject=body.subject,
            message=body.message,
            reply_within_minutes=body.reply_within_minutes,
        )
    )


@operation(
    bp,
    "/exercises/<int:exercise_id>/crisis/<int:delivery_id>/release",
    "POST",
    summary="Release a held crisis message to the team",
    tag=TAG,
    response=ActionResult,
)
def exercise_crisis_release(exercise_id: int, delivery_id: int) -> ActionResult:
    user = me()
    exercise = live.exercise_for_control(exercise_id, user)
    return result(live.release(user, exercise, delivery_id))
