"""Schemas of the team channel."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from socdrill.api.schemas.common import MAX_INT, ChatText, Input, Output


class ChatQuery(Input):
    team: str = Field("", max_length=80)
    after_id: int = Field(0, ge=0, le=MAX_INT)


class ChatPost(Input):
    team: str = Field("", max_length=80)
    body: ChatText


class MessageOut(Output):
    id: int
    at: datetime
    author: str | None
    body: str
    mentions: list[str]
    refs: list[str]


class ChatPage(Output):
    team: str
    messages: list[MessageOut]
