"""The JSON API (``/api/v1``): bearer API tokens or the browser session.

``docs_bp`` serves the generated OpenAPI document at ``/api/openapi.json``.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")

from socdrill.api import (  # noqa: E402, F401  (registers the views on bp)
    alerts,
    chat,
    control,
    errors,
    incidents,
    knowledge,
    responses,
    routes,
    search,
)

errors.register(bp)
errors.register(docs_bp)
