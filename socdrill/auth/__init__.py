"""Accounts: login, logout, password change, personal API tokens.

Also home of the pieces behind them: password rules, token storage, sessions and
the request guard.
"""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from socdrill.auth import routes  # noqa: E402, F401  (registers the views on bp)
