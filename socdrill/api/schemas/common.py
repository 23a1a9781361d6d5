"""Building blocks shared by every schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Input(BaseModel):
    """A request body or query: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    """An answer."""

    model_config = ConfigDict(from_attributes=True)


def text(max_length: int, min_length: int = 0) -> Any:
    """A free-text field with its length limits (NUL characters are refused)."""
    return Annotated[
        str,
        StringConstraints(
            min_length=min_length, max_length=max_length, pattern=r"^[^\x00]*$"
        ),
    ]


Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Title = text(200, 1)
Section = text(20_000)
Tier = Annotated[str, Field(pattern="^P[1-4]$", description="P1 (critical) … P4")]
TechniqueId = Annotated[
    str,
    StringConstraints(pattern=r"^[Tt]\d{4}(\.\d{3})?$", to_upper=True),
    Field(description="an ATT&CK technique id such as T1059.001"),
]
# Ids and counters are 64-bit signed integers in the stores: anything larger is
# refused as invalid input (422) instead of overflowing the database driver.
MAX_INT = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Version = Annotated[int, Field(ge=1, le=MAX_INT)]
AlertIds = Annotated[list[Id], Field(min_length=1, max_length=200)]


class ActionResult(Output):
    """What a state-changing call did.

    ``activity_ids`` are the activity-log rows written (none outside an exercise);
    ``replayed`` is true when the Idempotency-Key was seen before and nothing
    changed this time; ``data`` holds references to what was created or changed.
    """

    ok: bool = True
    message: str
    activity_ids: list[int] = Field(default_factory=list)
    replayed: bool = False
    data: dict[str, Any] = Field(default_factory=dict)


ShortText = text(4000)
Reason = text(2000, 1)
NoteText = text(20_000, 1)
ChatText = text(4000, 1)
ArticleBody = text(100_000)
