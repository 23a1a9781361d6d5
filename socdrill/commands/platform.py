"""Platform commands: init, demo, serve."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(demo)
    cli.add_command(serve)


@click.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when already initialised.")
@with_appcontext
def init(if_empty: bool) -> None:
    """Create the instance folder and databases."""
    click.echo(f"instance: {current_app.instance_path}")


@click.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when a demo already exists.")
@with_appcontext
def demo(if_empty: bool) -> None:
    """Create the demo tenant, team and exercise."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the platform (embedded mode: one process)."""
    current_app.run(host=host, port=port)
