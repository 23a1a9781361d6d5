"""Response actions and the crisis inbox (both act through the engine)."""

from __future__ import annotations

from socdrill.api import bp
from socdrill.api.common import result
from socdrill.api.operations import operation
from socdrill.api.schemas.common import ActionResult
from socdrill.api.schemas.responses import (
    CrisisOut,
    Inbox,
    ReplyBody,
    ReplyOut,
    ResponsePlanOut,
    ResponseSource,
)
from socdrill.console import responding
from socdrill.console.activity import request_key
from socdrill.console.scope import exercise_label, me

TAG = "response"


def _plan(source: ResponseSource) -> responding.Plan:
    return responding.plan(
        me(),
        source.action,
        source.target,
        responding.Source(
            alert_id=source.alert_id,
            incident_id=source.incident_id,
            event_id=source.event_id,
            tenant=source.tenant,
        ),
    )


@operation(
    bp,
    "/responses/preview",
    "GET",
    summary="What a response action would do (the confirmation text)",
    tag=TAG,
    query=ResponseSource,
    response=ResponsePlanOut,
    errors=(404, 409),
)
def response_preview(query: ResponseSource) -> ResponsePlanOut:
    chosen = _plan(query)
    return ResponsePlanOut(
        action=chosen.action,
        target=chosen.target,
        tenant=chosen.tenant.slug,
        confirmation=chosen.confirmation,
    )


@operation(
    bp,
    "/responses",
    "POST",
    summary="Take a response action",
    tag=TAG,
    body=ResponseSource,
    response=ActionResult,
    status=201,
    errors=(404, 409),
)
def response_perform(body: ResponseSource) -> ActionResult:
    """Acts on the sandbox of the exercise in play on the source's tenant; the
    engine writes the action's logs into the SIEM and applies it to the attack."""
    return result(responding.perform(me(), _plan(body), request_key()))


@operation(
    bp,
    "/inbox",
    "GET",
    summary="Crisis messages of your teams' exercises",
    tag=TAG,
    response=Inbox,
)
def inbox() -> Inbox:
    user = me()
    return Inbox(
        messages=[
            CrisisOut(
                id=item.delivery.id,
                channel=item.delivery.channel,
                sender=item.delivery.sender,
                subject=item.delivery.subject,
                message=item.delivery.message,
                delivered_at=item.delivery.delivered_at,
                deadline=item.deadline,
                exercise=exercise_label(item.exercise, user),
                replies=[
                    ReplyOut(author=author, at=at, text=text)
                    for author, at, text in item.replies
                ],
            )
            for item in responding.inbox(user)
        ]
    )


@operation(
    bp,
    "/inbox/<int:delivery_id>/replies",
    "POST",
    summary="Reply to a crisis message",
    tag=TAG,
    body=ReplyBody,
    response=ActionResult,
    status=201,
    errors=(409,),
)
def inbox_reply(delivery_id: int, body: ReplyBody) -> ActionResult:
    return result(responding.reply(me(), delivery_id, body.text, request_key()))
