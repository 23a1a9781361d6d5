"""socdrill: the Flask application (the edges only).

Wires ``simulator``, ``siem`` and ``scoring`` into a web platform and a CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from socdrill.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: configuration, extensions, security, blueprints."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        static_folder=str(root / "static"),
        template_folder=str(root / "templates"),
    )
    load_config(app, test_config)
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        # Exact hop count: rate limits must key on the real client address, and a
        # client must not be able to spoof it with its own X-Forwarded-For.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    _init_extensions(app)
    _register_blueprints(app)
    return app


def _init_extensions(app: Flask) -> None:
    import socdrill.models  # noqa: F401  (registers every table on the metadata)
    from socdrill import database, errors, security, templating
    from socdrill.auth import guard, sessions
    from socdrill.extensions import csrf, db, limiter, migrate

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=app.config["MIGRATIONS_DIR"],
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    sessions.init_app(app)
    security.init_app(app)
    guard.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    from socdrill import realtime

    realtime.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from socdrill.admin import bp as admin_bp
    from socdrill.api import bp as api_bp
    from socdrill.api import docs_bp as api_docs_bp
    from socdrill.auth import bp as auth_bp
    from socdrill.console import bp as console_bp
    from socdrill.control import bp as control_bp
    from socdrill.main import bp as main_bp

    for blueprint in (main_bp, auth_bp, admin_bp, control_bp, console_bp, api_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(api_docs_bp)
    from socdrill.engine.routes import bp as engine_bp

    app.register_blueprint(engine_bp)
    from socdrill.review import api_bp as review_api_bp
    from socdrill.review import bp as review_bp

    app.register_blueprint(review_bp)
    app.register_blueprint(review_api_bp)
