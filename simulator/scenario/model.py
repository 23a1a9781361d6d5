"""The scenario format as pydantic models: the structure, and nothing but the structure.

Every model forbids unknown keys, so a misspelt key is an error rather than a silently
ignored line. Cross-references (stage ids, roles, sensors, ATT&CK ids, templates) are
checked by :mod:`simulator.scenario.validate`, which can point at the exact key. The
JSON Schema editors use is ``Scenario.model_json_schema(by_alias=True)``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from simulator import vocabulary
from simulator.scenario.durations import (
    DURATION_PATTERN,
    RANGE_PATTERN,
    DurationRange,
    parse_duration,
    parse_range,
)
from simulator.scenario.source import SourceMap

# Enough for any real exercise; keeps reference checks linear and shallow.
MAX_STAGES = 500


class StrictModel(BaseModel):
    """Base of every scenario model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _duration_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": DURATION_PATTERN, "description": description}
    )


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    _duration_schema("A duration such as '90s', '5m', '2h' or '1h30m'."),
]
DelayRange = Annotated[
    DurationRange,
    BeforeValidator(parse_range),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": RANGE_PATTERN,
            "description": "A duration ('20m') or a range ('5m..15m').",
        }
    ),
]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64),
]
RoleName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64),
]
TechniqueId = Annotated[str, StringConstraints(pattern=r"^T\d{4}(\.\d{3})?$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


def _one_or_many(value: object) -> object:
    """Let authors write ``victim`` where a list ``[victim]`` is meant."""
    return [value] if isinstance(value, str) else value


RoleRefs = Annotated[list[RoleName], BeforeValidator(_one_or_many)]
Techniques = Annotated[list[TechniqueId], BeforeValidator(_one_or_many)]

# --- environment -----------------------------------------------------------------


class UserSelector(StrictModel):
    """Which synthetic user may play a role; omitted keys match any user."""

    department: str | None = None
    title: str | None = None


class HostSelector(StrictModel):
    """Which synthetic host may play a role; ``owner`` names a user role."""

    kind: str | None = None
    role: str | None = None
    os: str | None = None
    owner: RoleName | None = None


class InfraSelector(StrictModel):
    """Attacker infrastructure: drawn from reserved ranges, or one reserved value."""

    value: str | None = None


class RoleSpec(StrictModel):
    """A role bound at exercise start; exactly one of the four keys is given."""

    user: UserSelector | None = None
    host: HostSelector | None = None
    external_ip: InfraSelector | None = None
    domain: InfraSelector | None = None

    @property
    def kind(self) -> str:
        """``user``, ``host``, ``external_ip`` or ``domain`` (the first one set)."""
        for name in ("user", "host", "external_ip", "domain"):
            if getattr(self, name) is not None:
                return name
        return ""


Count = Annotated[int, Field(ge=0, le=10_000)]


class Needs(StrictModel):
    """The least the organisation must have; the names are those of its size."""

    users: Count | None = None
    departments: Count | None = None
    workstations: Count | None = None
    servers: Count | None = None
    domain_controllers: Count | None = None
    linux_hosts: Count | None = None
    cloud_accounts: Count | None = None


class Environment(StrictModel):
    """What the scenario needs from the synthetic organisation, and its roles."""

    needs: Needs = Field(default_factory=Needs)
    roles: dict[RoleName, RoleSpec] = Field(default_factory=dict)


# --- stages ------------------------------------------------------------------------


class Repeat(StrictModel):
    """``count`` occurrences ``every`` apart (count may be left out on a duration)."""

    count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    every: Duration


class EventSpec(StrictModel):
    """One log record a stage leaves, completed by its sensor."""

    sensor: str
    kind: str | None = None
    host: str | None = None
    delay: Duration | None = None
    repeat: Repeat | None = None
    fields: dict[str, JsonValue] = Field(default_factory=dict)


Requires = create_model(
    "Requires",
    __base__=StrictModel,
    __doc__="Conditions that must hold, when the stage is due, for it to run.",
    **dict.fromkeys(vocabulary.CONDITIONS, (RoleRefs | None, None)),
)

ResponseExpectation = create_model(
    "ResponseExpectation",
    __base__=StrictModel,
    __doc__="One expected response action and the role it targets.",
    **dict.fromkeys(vocabulary.RESPONSE_ACTIONS, (RoleName | None, None)),
)


class StageExpect(StrictModel):
    """What the team should do about a stage: rule ids to fire, actions to take."""

    detections: list[str] = Field(default_factory=list)
    responses: list[ResponseExpectation] = Field(default_factory=list)  # type: ignore[valid-type]


class OnBlocked(StrictModel):
    """The stage the attacker falls back to when a condition no longer holds."""

    stage: Slug


class Stage(StrictModel):
    """One step of the attack: when it happens, what it leaves, what is expected."""

    id: Slug
    description: str | None = None
    at: Duration | None = None
    after: Slug | None = None
    delay: DelayRange | None = None
    jitter: Duration | None = None
    repeat: Repeat | None = None
    duration: Duration | None = None
    technique: Techniques
    tier: Literal[vocabulary.TIERS]  # type: ignore[valid-type]
    damage: Annotated[float, Field(ge=0)] = 0.0
    entities: RoleRefs = Field(default_factory=list)
    requires: Requires | None = None  # type: ignore[valid-type]
    on_blocked: OnBlocked | None = None
    events: list[EventSpec] = Field(default_factory=list)
    expect: StageExpect = Field(default_factory=StageExpect)

    def conditions(self) -> list[tuple[str, str]]:
        """``(condition, role)`` pairs of ``requires`` in declaration order."""
        if self.requires is None:
            return []
        pairs = []
        for name, roles in self.requires:
            for role in roles or ():
                pairs.append((name, role))
        return pairs

    def expected_responses(self) -> list[tuple[str, str]]:
        """``(action, role)`` pairs of ``expect.responses``."""
        pairs = []
        for item in self.expect.responses:
            pairs.extend((name, role) for name, role in item if role is not None)
        return pairs


# --- crisis and debrief ---------------------------------------------------------


class InjectExpect(StrictModel):
    """What the team should do about a crisis inject."""

    reply_within: Duration | None = None


class CrisisInject(StrictModel):
    """Pressure from outside the SOC: a call, an e-mail, a journalist, a regulator."""

    id: Slug
    at: Duration | None = None
    after: Slug | None = None
    delay: DelayRange | None = None
    channel: Literal[vocabulary.CRISIS_CHANNELS]  # type: ignore[valid-type]
    sender: Text = Field(alias="from")
    subject: str | None = None
    message: Text
    expect: InjectExpect = Field(default_factory=InjectExpect)


class Debrief(StrictModel):
    """Questions for the after-action review."""

    questions: list[Text] = Field(default_factory=list)


# --- the scenario ---------------------------------------------------------------------


class Scenario(StrictModel):
    """A scenario file: the exercise's master scenario events list."""

    id: Slug
    version: Annotated[int, Field(ge=1)]
    title: Text
    summary: Text
    scopes: list[Literal[vocabulary.SCOPES]] = Field(min_length=1)  # type: ignore[valid-type]
    difficulty: Literal[vocabulary.DIFFICULTIES]  # type: ignore[valid-type]
    duration: Duration
    environment: Environment = Field(default_factory=Environment)
    stages: list[Stage] = Field(min_length=1, max_length=MAX_STAGES)
    crisis: list[CrisisInject] = Field(default_factory=list, max_length=MAX_STAGES)
    debrief: Debrief = Field(default_factory=Debrief)

    _source: SourceMap | None = PrivateAttr(default=None)
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> SourceMap:
        """Where each key and value sits in the file (empty for built models)."""
        return self._source if self._source is not None else SourceMap("<scenario>")

    def stage(self, stage_id: str) -> Stage:
        """The stage called ``stage_id`` (``KeyError`` if there is none)."""
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    def role_kinds(self) -> dict[str, str]:
        """Role name → ``user`` / ``host`` / ``external_ip`` / ``domain``."""
        return {name: spec.kind for name, spec in self.environment.roles.items()}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format, for editors and documentation."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "socdrill scenario"
    return schema
