"""Pydantic validation errors rewritten as located, actionable problems."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from simulator.scenario.model import Scenario
from simulator.scenario.problems import Path, Problem, did_you_mean
from simulator.scenario.source import SourceMap

_PATTERN_HINTS = {
    r"^[a-z0-9][a-z0-9_-]*$": "an id uses lower-case letters, digits, '-' and '_'",
    r"^[A-Za-z_][A-Za-z0-9_]*$": (
        "a role name uses letters, digits and '_' and does not start with a digit"
    ),
    r"^T\d{4}(\.\d{3})?$": "an ATT&CK technique id looks like T1059 or T1059.001",
}


def problems_from_validation_error(
    exc: ValidationError, data: Any, source: SourceMap
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, at the key or value it concerns."""
    problems = []
    seen: set[tuple[Path, str]] = set()
    for error in exc.errors(include_url=False):
        path, on_key = _data_path(error["loc"], data)
        message = _message(error, path)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        is_key = on_key or error["type"] == "extra_forbidden"
        problems.append(source.problem(path, message, key=is_key))
    problems.sort(key=lambda p: (p.line, p.col))
    return problems


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[Path, bool]:
    """The document path of an error location, dropping pydantic's type tags."""
    path: list[str | int] = []
    current = data
    on_key = False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]":
            on_key = True
            continue
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list)
            and isinstance(part, int)
            and 0 <= part < len(current)
        ):
            path.append(part)
            current = current[part]
        elif last and isinstance(part, str) and isinstance(current, dict):
            path.append(part)  # a missing key: point at its parent mapping
            current = None
        # anything else is a union/validator tag such as 'list[str]'
    return tuple(path), on_key


def _message(error: dict[str, Any], path: Path) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "missing":
        return f"missing required key '{path[-1]}'"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        hint = did_you_mean(str(path[-1]), allowed)
        if not hint and allowed:
            hint = f" (allowed: {', '.join(sorted(allowed))})"
        return f"unknown key '{path[-1]}'{hint}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        return (
            f"{given!r} is not one of {', '.join(options)}"
            f"{did_you_mean(str(given), options)}"
        )
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        hint = _PATTERN_HINTS.get(pattern, f"it must match {pattern}")
        return f"{given!r} is not valid: {hint}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        placeholder = " ('...' marks something left out: write it here)"
        return "expected a mapping of keys here" + (
            placeholder
            if given == "..."
            else f" (got {given!r})"
            if _short(given)
            else ""
        )
    if kind == "list_type":
        return "expected a list here" + (f" (got {given!r})" if _short(given) else "")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']}" + (f" (got {given!r})" if _short(given) else "")


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 60


def _allowed_keys(path: Path) -> set[str]:
    """The keys the model accepts at ``path`` (for "did you mean")."""
    model = _model_at(path)
    if model is None:
        return set()
    return {f.alias or name for name, f in model.model_fields.items()}


def _model_at(path: Path) -> type[BaseModel] | None:
    annotation: Any = Scenario
    for part in path:
        model = _as_model(annotation)
        if isinstance(part, int):
            annotation = _item_type(annotation, list)
        elif model is not None:
            field = _field(model, part)
            if field is None:
                return None
            annotation = field.annotation
        else:
            annotation = _item_type(annotation, dict)
        if annotation is None:
            return None
    return _as_model(annotation)


def _field(model: type[BaseModel], name: str) -> Any:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _strip(annotation: Any) -> list[Any]:
    """The concrete alternatives behind Annotated/Optional/Union wrappers."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _strip(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_strip(arg))
        return out
    return [annotation]


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for option in _strip(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _item_type(annotation: Any, container: type) -> Any:
    for option in _strip(annotation):
        if typing.get_origin(option) is container:
            return typing.get_args(option)[-1]
    return None
