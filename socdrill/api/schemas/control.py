"""Schemas of the control cell's live view and interventions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from simulator import vocabulary
from socdrill.api.schemas.common import MAX_INT, ChatText, Input, Output

Channel = Literal[vocabulary.CRISIS_CHANNELS]  # type: ignore[valid-type]


class SpeedBody(Input):
    speed: float = Field(gt=0, le=1000, description="scenario seconds per second")


class EndexBody(Input):
    reason: str = Field("", max_length=200)


class HintBody(Input):
    stage_id: str = Field("", max_length=80, description="the stage it helps with")
    text: ChatText


class CrisisBody(Input):
    channel: Channel
    sender: str = Field(min_length=1, max_length=200)
    subject: str = Field("", max_length=300)
    message: ChatText
    reply_within_minutes: float | None = Field(
        None, gt=0, le=24 * 60, description="scenario minutes, like a scenario inject"
    )


class ControlResult(Output):
    ok: bool = True
    message: str
    state: str
    changed: bool


class StageOut(Output):
    id: str
    technique: str
    tier: str
    due: str
    status: str
    reason: str
    fallback: str | None
    event_count: int


class ProgressIncident(Output):
    id: int
    reference: str
    title: str
    severity: str
    status: str


class ProgressResponse(Output):
    seq: int
    action: str
    target: str
    at: datetime


class CrisisItem(Output):
    id: int
    inject_id: str
    channel: str
    sender: str
    subject: str
    delivered_at: datetime
    held: bool
    released_at: datetime | None
    replies: int


class ActivityOut(Output):
    id: int
    at: datetime
    active_seconds: float
    actor: str | None
    kind: str
    target_type: str
    target_id: str
    payload: dict[str, Any]


class LiveOut(Output):
    exercise_id: int
    name: str
    state: str
    announced: bool
    speed_factor: float
    scenario_seconds: float
    active_seconds: float
    problem: str
    stages: list[StageOut]
    alerts: dict[str, int]
    incidents: list[ProgressIncident]
    responses: list[ProgressResponse]
    crisis: list[CrisisItem]
    activity_counts: dict[str, int]
    activity: list[ActivityOut]


class ActivityQuery(Input):
    after_id: int = Field(0, ge=0, le=MAX_INT)
    limit: int = Field(500, ge=1, le=5000)


class ActivityList(Output):
    activity: list[ActivityOut]
