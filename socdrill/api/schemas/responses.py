"""Schemas of response actions and the crisis inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from simulator import vocabulary
from socdrill.api.schemas.common import Id, Input, NoteText, Output

ActionName = Literal[tuple(vocabulary.RESPONSE_ACTIONS)]  # type: ignore[valid-type]


class ResponseSource(Input):
    """Where the action starts from: one alert, incident or event, or a tenant."""

    action: ActionName
    target: str = Field(min_length=1, max_length=200)
    alert_id: Id | None = None
    incident_id: Id | None = None
    event_id: Id | None = None
    tenant: str = Field("", max_length=40)


class ResponsePlanOut(Output):
    action: str
    target: str
    tenant: str
    confirmation: str = Field(description="names the exercise and the target")


class ReplyBody(Input):
    text: NoteText


class ReplyOut(Output):
    author: str
    at: datetime
    text: str


class CrisisOut(Output):
    id: int
    channel: str
    sender: str
    subject: str
    message: str
    delivered_at: datetime
    deadline: datetime | None
    exercise: str
    replies: list[ReplyOut]


class Inbox(Output):
    messages: list[CrisisOut]
