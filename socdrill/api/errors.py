"""Error bodies of the JSON API: ``{"error": {"code", "message", "fields"}}``.

The handlers are registered on the API blueprints, so they also shape refusals that
happen before a view runs (sign-in, CSRF, the allow-table) for ``/api/`` addresses.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from socdrill.console.errors import ConsoleError
from socdrill.errors import MESSAGES

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}
CSRF_MESSAGE = (
    "The form's security token is missing or stale. Reload the page and retry "
    "(send it as the X-CSRFToken header)."
)


def error_body(
    status: int, message: str, fields: dict[str, str] | None = None, code: str = ""
) -> tuple[Response, int]:
    """The JSON error answer every API failure uses."""
    body = {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": message,
            "fields": fields or {},
        }
    }
    return jsonify(body), status


def fields_of(error: ValidationError, prefix: str = "") -> dict[str, str]:
    """``{"body.severity": "Input should be 'P1', 'P2' …"}`` from pydantic's errors."""
    out: dict[str, str] = {}
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"])
        name = f"{prefix}.{path}" if prefix and path else (path or prefix or "body")
        message = str(item["msg"])
        if item["type"] == "extra_forbidden":
            message = "this field cannot be set here"
        out.setdefault(name, message)
    return out


def invalid(error: ValidationError, prefix: str) -> tuple[Response, int]:
    fields = fields_of(error, prefix)
    names = ", ".join(sorted(fields))
    return error_body(422, f"invalid values: {names}", fields)


def _http(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    message = MESSAGES.get(status, error.name)
    if status == 400 and error.description != type(error).description:
        message = str(error.description)
    response, code = error_body(status, message)
    if status == 429 and error.get_response().headers.get("Retry-After"):
        response.headers["Retry-After"] = error.get_response().headers["Retry-After"]
    return response, code


def _csrf(_error: CSRFError) -> tuple[Response, int]:
    return error_body(403, CSRF_MESSAGE, code="csrf")


def _console(error: ConsoleError) -> tuple[Response, int]:
    return error_body(error.status, error.message, error.fields, error.code)


def _unexpected(error: Exception) -> tuple[Response, int]:
    if isinstance(error, HTTPException):
        return _http(error)
    current_app.logger.exception("unhandled API error", exc_info=error)
    return error_body(500, MESSAGES[500])


def register(blueprint: Blueprint) -> None:
    """Install the JSON error handlers on ``blueprint``."""
    blueprint.register_error_handler(CSRFError, _csrf)
    blueprint.register_error_handler(ConsoleError, _console)
    blueprint.register_error_handler(HTTPException, _http)
    blueprint.register_error_handler(Exception, _unexpected)


def describe() -> dict[str, Any]:
    """The error body's schema, for the OpenAPI document."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": sorted({*CODES.values(), "csrf"}),
                    },
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "what is wrong with each named input",
                    },
                },
            }
        },
    }
