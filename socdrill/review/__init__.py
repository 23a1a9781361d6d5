"""Debrief, after-action report, rule tuning, team, HR and personal views of scores.

Pages live on ``bp`` (``/review``), the JSON API on ``api_bp``
(``/api/v1/review``). Both read stored score documents and cut them with
``scoring.hr`` for the reader; this package never computes a score itself.
"""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")
api_bp = Blueprint("review_api", __name__, url_prefix="/api/v1/review")

from socdrill.review import api, routes  # noqa: E402, F401  (registers the views)
