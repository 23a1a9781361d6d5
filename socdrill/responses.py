"""Answering browsers and API clients from the same route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Response, flash, jsonify, redirect, request


def wants_json() -> bool:
    """API clients (bearer token, JSON body, JSON Accept, /api/) get JSON back."""
    if request.is_json or "Authorization" in request.headers:
        return True
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def fields() -> Mapping[str, Any]:
    """The submitted values: the JSON object of an API call, or the form."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return request.form


def done(
    message: str, location: str, payload: dict[str, Any] | None = None
) -> Response:
    """A successful action: JSON for API clients, a flash and a redirect otherwise."""
    if wants_json():
        return jsonify({"ok": True, "message": message, **(payload or {})})
    flash(message, "success")
    return redirect(location, code=303)


def refused(
    message: str, location: str, status: int = 409
) -> Response | tuple[Response, int]:
    """A refused action: nothing changed, and the message says why."""
    if wants_json():
        return jsonify({"ok": False, "error": message}), status
    flash(message, "error")
    return redirect(location, code=303)


def is_safe_next(target: str | None) -> bool:
    """Only same-site paths may follow a login; no scheme, host or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(char) < 32 for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
