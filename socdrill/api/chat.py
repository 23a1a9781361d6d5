"""Team channel endpoints."""

from __future__ import annotations

from socdrill.api import bp
from socdrill.api.common import act
from socdrill.api.operations import operation
from socdrill.api.schemas.chat import ChatPage, ChatPost, ChatQuery, MessageOut
from socdrill.api.schemas.common import ActionResult
from socdrill.console import chat
from socdrill.console.scope import me, team_by_name
from socdrill.models import ChatMessage

TAG = "team channel"


def message_out(message: ChatMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        at=message.at,
        author=message.author.username if message.author else None,
        body=message.body,
        mentions=list(message.mentions),
        refs=list(message.refs),
    )


@operation(
    bp,
    "/chat",
    "GET",
    summary="Messages of a team channel",
    tag=TAG,
    query=ChatQuery,
    response=ChatPage,
    errors=(404,),
)
def chat_messages(query: ChatQuery) -> ChatPage:
    team = team_by_name(query.team, me())
    rows = chat.messages(team, after_id=query.after_id)
    return ChatPage(team=team.name, messages=[message_out(row) for row in rows])


@operation(
    bp,
    "/chat",
    "POST",
    summary="Post to a team channel",
    tag=TAG,
    body=ChatPost,
    response=ActionResult,
    status=201,
    errors=(404,),
)
def chat_post(body: ChatPost) -> ActionResult:
    """@name mentions a teammate; alert:12 and INC-7 link an alert or an incident;
    `backticks` quote an entity."""
    return act(lambda rec: chat.post(rec, body.team, body.body))
