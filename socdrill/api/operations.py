"""Declaring API operations once: route, input and output schemas, documentation.

:func:`operation` registers a view on a blueprint and records its pydantic models;
the wrapper validates the query string and the JSON body against them (unknown
fields are refused, which also stops mass assignment of ``role``, ``tenant_id``,
``exercise_id`` or ``score``), calls the view with the parsed models and serialises
its answer with the response model. :mod:`socdrill.api.openapi` builds the OpenAPI
document from the same records, so the document cannot drift from the code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from socdrill.api.errors import error_body, invalid

FLASK_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Operation:
    """One documented API operation."""

    blueprint: str
    url_prefix: str
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...] = field(default=())

    @property
    def path(self) -> str:
        """The OpenAPI path template (``/api/v1/alerts/{alert_id}``)."""
        return FLASK_PARAMETER.sub(r"{\g<name>}", self.url_prefix + self.rule)

    def path_parameters(self) -> list[tuple[str, str]]:
        """``(name, converter)`` of each path parameter."""
        return [
            (match["name"], match["converter"] or "string")
            for match in FLASK_PARAMETER.finditer(self.rule)
        ]

    @property
    def mutating(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


REGISTRY: list[Operation] = []


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(get_origin(arg) is list for arg in get_args(annotation))


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string as ``model``; list fields take repeated keys."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in request.args:
            continue
        values[key] = (
            request.args.getlist(key)
            if _is_list(info.annotation)
            else request.args[key]
        )
    unknown = set(request.args) - {
        info.alias or name for name, info in model.model_fields.items()
    }
    if unknown:
        values.update({key: request.args[key] for key in unknown})
    return model.model_validate(values)


def parse_body(model: type[BaseModel]) -> BaseModel | tuple[Response, int]:
    """The JSON body as ``model``, or an error answer."""
    if not request.is_json:
        return error_body(415, "send a JSON body with Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error_body(400, "the body must be a JSON object")
    return model.model_validate(data)


def operation(
    blueprint: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``view`` as ``method rule`` on ``blueprint`` and document it.

    The view receives the path parameters, plus ``query=`` and/or ``body=`` parsed
    models when declared, and returns an instance of ``response`` (or a Flask
    response for anything special).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**path: Any) -> Any:
            arguments: dict[str, Any] = dict(path)
            if query is not None:
                try:
                    arguments["query"] = parse_query(query)
                except ValidationError as error:
                    return invalid(error, "query")
            if body is not None:
                try:
                    parsed = parse_body(body)
                except ValidationError as error:
                    return invalid(error, "body")
                if isinstance(parsed, tuple):
                    return parsed
                arguments["body"] = parsed
            result = view(**arguments)
            if isinstance(result, BaseModel):
                return jsonify(result.model_dump(mode="json", by_alias=True)), status
            return result

        blueprint.add_url_rule(
            rule, endpoint=view.__name__, view_func=wrapper, methods=[method]
        )
        REGISTRY.append(
            Operation(
                blueprint=blueprint.name,
                url_prefix=blueprint.url_prefix or "",
                rule=rule,
                method=method,
                endpoint=f"{blueprint.name}.{view.__name__}",
                summary=summary,
                description=(view.__doc__ or "").strip(),
                tag=tag,
                query=query,
                body=body,
                response=response,
                status=status,
                errors=errors,
            )
        )
        return wrapper

    return decorate
