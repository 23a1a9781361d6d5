"""Security headers on every response, with a fresh CSP nonce per request."""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request

NONCE_BYTES = 16


def csp_nonce() -> str:
    """The nonce of this request; templates put it on their <script>/<style> tags."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # same-origin: nothing leaks to other sites, and the same-origin Referer that
    # CSRF checks over HTTPS rely on is still sent.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config.get("PRODUCTION"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        # Pages show people's data; no shared or back-button cache may keep them.
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_security_headers)
