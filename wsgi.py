"""WSGI entry point (gunicorn target): ``gunicorn wsgi:app``."""

from socdrill import create_app

app = create_app()
