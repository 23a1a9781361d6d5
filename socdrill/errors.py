"""Error pages and JSON errors: the status and a plain message, never a trace."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from socdrill.responses import wants_json

MESSAGES = {
    400: "The request was not understood.",
    401: "Please sign in.",
    403: "You are not allowed to do this.",
    404: "There is nothing here.",
    405: "This address does not accept that method.",
    409: "That is not possible in the current state.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a little and try again.",
    500: "Something went wrong on our side. The error has been logged.",
}

API_PREFIX = "/api/v1/"

ErrorResponse = tuple[Response | str, int]


def error_response(status: int, message: str) -> ErrorResponse:
    if request.path.startswith(API_PREFIX) and request.url_rule is None:
        # An address under the API that matches no route (say a negative id):
        # the API's own documented error body, like every other API answer.
        from socdrill.api.errors import error_body

        return error_body(status, message)
    if wants_json():
        return jsonify({"ok": False, "error": message}), status
    return render_template("errors/error.html", status=status, message=message), status


def handle_http_error(error: HTTPException) -> ErrorResponse:
    status = error.code or 500
    message = MESSAGES.get(status, error.name)
    # Our own abort(400, "...") messages are written for users; keep them.
    if (
        status == 400
        and error.description
        and error.description != (type(error).description)
    ):
        message = str(error.description)
    return error_response(status, message)


def handle_csrf_error(_error: CSRFError) -> ErrorResponse:
    return error_response(
        403, "The form's security token is missing or stale. Reload the page and retry."
    )


def handle_unexpected_error(error: Exception) -> ErrorResponse:
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    current_app.logger.exception("unhandled error", exc_info=error)
    return error_response(500, MESSAGES[500])


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
