"""What the review pages and the ``/api/v1/review`` API accept and answer.

Input models forbid unknown fields (so nobody can set ``score``, ``user_id`` or
``status`` through a side door) and are shared by the HTML forms and the JSON API,
so both refuse exactly the same input with the same message.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from scoring.model import TICKET_TEXT_FIELDS
from socdrill.api.schemas.common import Input, Output, text

TicketRef = Annotated[
    str,
    StringConstraints(pattern=r"^[Ii][Nn][Cc]-\d{1,9}$", to_upper=True),
    Field(description="an incident ticket reference such as INC-12"),
]
Section = Annotated[
    str,
    Field(
        json_schema_extra={"enum": list(TICKET_TEXT_FIELDS)},
        description="a free-text section of the ticket",
    ),
]
Grade = Literal["P", "S", "M", "U"]
Username = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StageId = Annotated[str, StringConstraints(min_length=1, max_length=80)]


# --- inputs -----------------------------------------------------------------------


class GradeIn(Input):
    """An evaluator's HSEEP grade of one free-text section: P (performed without
    challenges) 1, S (some challenges) 0.67, M (major challenges) 0.33, U 0."""

    ticket: TicketRef
    section: Section
    grade: Grade
    note: text(2000) = ""  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _known_section(self) -> GradeIn:
        if self.section not in TICKET_TEXT_FIELDS:
            raise ValueError(f"section must be one of {', '.join(TICKET_TEXT_FIELDS)}")
        return self


class ActionIn(Input):
    """A corrective action of the improvement plan."""

    finding: text(300) = ""  # type: ignore[valid-type]
    action: text(4000, 1)  # type: ignore[valid-type]
    owner: Username
    due_date: date


class ActionUpdate(Input):
    """Change a corrective action (name it by ``id``); give at least one field."""

    id: int = Field(ge=1)
    action: text(4000, 1) | None = None  # type: ignore[valid-type]
    owner: Username | None = None
    due_date: date | None = None
    status: Literal["open", "done", "dropped"] | None = None

    @model_validator(mode="after")
    def _something(self) -> ActionUpdate:
        if all(
            getattr(self, name) is None
            for name in ("action", "owner", "due_date", "status")
        ):
            raise ValueError("change at least one of action, owner, due_date, status")
        return self


class ContestIn(Input):
    """Contest one of your points (``item`` as listed on your page) and say why."""

    item: text(200, 1)  # type: ignore[valid-type]
    reason: text(4000, 10)  # type: ignore[valid-type]


class Correction(Input):
    """What an upheld contest changes: a new grade, or an integrity clearance."""

    kind: Literal["grade", "integrity"]
    ticket: TicketRef | None = None
    section: Section | None = None
    grade: Grade | None = None
    stage: StageId | None = None

    @model_validator(mode="after")
    def _complete(self) -> Correction:
        if self.kind == "grade":
            if not (self.ticket and self.section and self.grade):
                raise ValueError("a grade correction names ticket, section and grade")
            if self.section not in TICKET_TEXT_FIELDS:
                raise ValueError(
                    f"section must be one of {', '.join(TICKET_TEXT_FIELDS)}"
                )
        if self.kind == "integrity" and not self.stage:
            raise ValueError("an integrity correction names the stage")
        return self


class ContestResolve(Input):
    """A lead's decision on an open contest."""

    id: int = Field(ge=1)
    decision: Literal["upheld", "rejected"]
    resolution: text(4000, 1)  # type: ignore[valid-type]
    correction: Correction | None = None

    @model_validator(mode="after")
    def _only_upheld_corrects(self) -> ContestResolve:
        if self.correction is not None and self.decision != "upheld":
            raise ValueError("only an upheld contest corrects the score")
        return self


class IntegrityIn(Input):
    """Clear a stage flagged for integrity review so it is scored."""

    stage: StageId
    note: text(2000, 1)  # type: ignore[valid-type]


class HrRequestIn(Input):
    """A justified HR request for one person's profile (logged and reviewed)."""

    username: Username
    reason: text(2000, 20)  # type: ignore[valid-type]
    reviewer: Username = Field(description="the named person who reviews this use")


class TuningIn(Input):
    """Try an exception on a rule: a Sigma selection (YAML or JSON mapping)."""

    rule_id: text(120, 1)  # type: ignore[valid-type]
    exception: text(10_000, 1)  # type: ignore[valid-type]


class ExportQuery(Input):
    """Which table to export, and as what."""

    table: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,60}$")]
    format: Literal["csv", "json"] = "csv"


# --- outputs ----------------------------------------------------------------------


class ColumnOut(Output):
    key: str
    label: str


class TableOut(Output):
    name: str
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class ExerciseRef(Output):
    id: int
    name: str
    state: str
    announced: bool
    scenario_id: str
    team: str
    ended_at: datetime | None


class GradeOut(Output):
    id: int
    ticket: str
    section: str
    grade: str
    note: str
    grader: str | None
    graded_at: datetime


class ActionOut(Output):
    id: int
    finding: str
    action: str
    owner: str | None
    due_date: date
    status: str
    updated_at: datetime


class ContestOut(Output):
    id: int
    person: str
    item: str
    reason: str
    status: str
    resolution: str
    correction: dict[str, Any]
    resolver: str | None
    created_at: datetime
    resolved_at: datetime | None


class DebriefOut(Output):
    """The debrief of one exercise, cut for the reader (HR rules applied)."""

    marker: str = "[EXERCISE]"
    exercise: ExerciseRef
    audience: str
    scored: bool
    revision: int | None
    computed_at: datetime | None
    document: dict[str, Any] | None = Field(
        description="the score document without what the reader may not see"
    )
    tables: list[TableOut]
    damage_curve: dict[str, list[float]] | None
    grades: list[GradeOut]
    corrective_actions: list[ActionOut]
    contests: list[ContestOut]
    questions: list[str]
    individual_data_purged_at: datetime | None = Field(
        default=None,
        description="when the retention policy removed the individual-level data",
    )
    auto_score_error: str | None = Field(
        default=None,
        description="why the engine could not score the exercise at ENDEX",
    )


class ScoreResult(Output):
    ok: bool = True
    message: str
    revision: int
    tes: float | None
    replayed: bool = Field(
        default=False, description="a retry with the same Idempotency-Key: no effect"
    )


class SavedResult(Output):
    ok: bool = True
    message: str
    id: int | None = None
    revision: int | None = Field(
        default=None, description="the score's revision when the change rescored"
    )
    replayed: bool = Field(
        default=False, description="a retry with the same Idempotency-Key: no effect"
    )


class ActivityOut(Output):
    at_minute: float
    kind: str
    targets: list[str]
    ticket: str | None


class MyExerciseOut(Output):
    exercise: ExerciseRef
    scored: bool
    timeline: list[ActivityOut]
    attribution: list[dict[str, Any]]
    points: TableOut | None
    contests: list[ContestOut]


class MyViewOut(Output):
    """Your own data first: every exercise you took part in, your points with their
    justification, your skill profile and your contests."""

    marker: str = "[EXERCISE]"
    person: str
    exercises: list[MyExerciseOut]
    skills: TableOut


class TeamViewOut(Output):
    marker: str = "[EXERCISE]"
    team: str
    people_in_scope: int
    tables: list[TableOut]
    readiness_gap: dict[str, Any]
    cohesion_headline: str | None


class HrTeamOut(Output):
    team: str
    people_in_scope: int
    aggregated: bool
    reason: str | None
    tables: list[TableOut]


class HrViewOut(Output):
    """Team aggregates (teams of five or more) and coverage counts; never a ranking."""

    marker: str = "[EXERCISE]"
    minimum: int
    teams: list[HrTeamOut]


class HrProfileOut(Output):
    marker: str = "[EXERCISE]"
    person: str
    reason: str
    reviewer: str
    skills: TableOut


class RuleCountsOut(Output):
    marker: str = "[EXERCISE]"
    exercises: int
    rules: TableOut


class TuningOut(Output):
    rule_id: str
    exception: dict[str, Any]
    before: dict[str, int]
    after: dict[str, int]
