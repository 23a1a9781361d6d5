"""The OpenAPI 3.1 document of the JSON API, generated from the operation registry
and the pydantic schemas of each operation (never written by hand)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from socdrill.api import errors
from socdrill.api.operations import REGISTRY, Operation

REF = "#/components/schemas/{model}"
ERROR_DESCRIPTIONS = {
    400: "The request was not understood",
    401: "Not signed in, or the API token is unknown or revoked",
    403: "Not allowed for your role, or the CSRF token is missing",
    404: "Unknown, or outside your tenants and teams",
    409: "Not possible in the current state",
    415: "The body is not JSON",
    422: "Invalid values; error.fields names each one",
}
PATH_TYPES = {"int": {"type": "integer"}, "string": {"type": "string"}}


class _Schemas:
    """Collects component schemas; every model appears once under its name."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str = "validation") -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        self.components.setdefault(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}

    def parameters(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        schema = model.model_json_schema(ref_template=REF)
        for name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        required = set(schema.get("required", []))
        out = []
        for name, prop in schema.get("properties", {}).items():
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k != "description"},
            }
            if "description" in prop:
                parameter["description"] = prop["description"]
            if prop.get("type") == "array":
                parameter["style"] = "form"
                parameter["explode"] = True
            out.append(parameter)
        return out


def _operation(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_TYPES.get(converter, {"type": "string"}),
        }
        for name, converter in op.path_parameters()
    ]
    if op.query is not None:
        parameters.extend(schemas.parameters(op.query))
    document: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {},
    }
    if op.description:
        document["description"] = op.description
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(op.body)}},
        }
    success: dict[str, Any] = {"description": "Success"}
    if op.response is not None:
        success["content"] = {
            "application/json": {"schema": schemas.ref(op.response, "serialization")}
        }
    document["responses"][str(op.status)] = success
    statuses = {401, 403, *op.errors}
    if op.query is not None or op.body is not None:
        statuses.add(422)
    if op.body is not None:
        statuses |= {400, 415}
    if op.path_parameters():
        statuses.add(404)
    if op.mutating:
        # The Idempotency-Key header: a malformed key is invalid (422), a key already
        # used for a different request is a conflict (409).
        statuses |= {409, 422}
    for status in sorted(statuses):
        document["responses"][str(status)] = {
            "description": ERROR_DESCRIPTIONS.get(status, "Error"),
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model="Error")}}
            },
        }
    if op.mutating:
        document["parameters"] = [
            *document.get("parameters", []),
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A client-chosen key (1–64 letters, digits, '-', "
                "'_', '.', ':'); a retry with the same key has no second effect",
                "schema": {"type": "string", "maxLength": 64},
            },
        ]
    return document


def document(version: str = "1") -> dict[str, Any]:
    """The OpenAPI document of every registered operation."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(REGISTRY, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    schemas.components["Error"] = errors.describe()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "socdrill API",
            "version": version,
            "description": "The JSON API the socdrill console itself uses. "
            "Authenticate with an API token (Authorization: Bearer sdt_…) or the "
            "browser session; session requests that change state carry the CSRF "
            "token in the X-CSRFToken header. Errors answer "
            '{"error": {"code", "message", "fields"}}.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerToken": []}, {"session": [], "csrfToken": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "socdrill_session",
                },
                "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
        },
    }
