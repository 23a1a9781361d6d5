"""socdrill: the Flask application (the edges only).

Wires ``simulator``, ``siem`` and ``scoring`` into a web platform and a CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, render_template

from socdrill.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: configuration, extensions, blueprints."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        static_folder=str(root / "static"),
        template_folder=str(root / "templates"),
    )
    load_config(app, test_config)

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    return app
