"""Platform commands: init, demo, serve."""

from __future__ import annotations

import os
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from socdrill import accounts
from socdrill.database import write_transaction
from socdrill.demo import create_demo, demo_exists
from socdrill.extensions import db
from socdrill.models import Role, User


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(demo)
    cli.add_command(serve)


def database_ready() -> bool:
    """Has ``socdrill init`` created the schema?"""
    return sa.inspect(db.engine).has_table("users")


def has_users() -> bool:
    return database_ready() and bool(
        db.session.scalar(sa.select(sa.func.count(User.id)))
    )


@click.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when already initialised.")
@with_appcontext
def init(if_empty: bool) -> None:
    """Create or upgrade the database and the first admin account.

    The admin's password is generated and printed once; there is no default account.
    """
    from flask_migrate import upgrade

    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    if if_empty and has_users():
        click.echo("socdrill is already initialised; nothing to do.")
        return
    upgrade()
    admin_exists = db.session.scalar(sa.select(User.id).where(User.role == Role.ADMIN))
    if admin_exists:
        click.echo("Database upgraded; an admin account exists already.")
        return
    with write_transaction():
        user, password = accounts.create_user(
            "admin",
            Role.ADMIN,
            actor=None,
            display_name="Administrator",
            can_launch=True,
        )
    click.echo(f"Database ready in {current_app.instance_path}")
    click.echo("First admin account (the password is shown only now):")
    click.echo(f"  username: {user.username}")
    click.echo(f"  password: {password}")


@click.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when a demo already exists.")
@with_appcontext
def demo(if_empty: bool) -> None:
    """Create the demo tenant, team, accounts and a draft exercise.

    The demo accounts' passwords are generated and printed once.
    """
    if not database_ready():
        raise click.ClickException("the database is not set up; run `socdrill init`")
    if demo_exists():
        if if_empty:
            click.echo("The demo exists already; nothing to do.")
            return
        raise click.ClickException("the demo exists already (tenant 'demo')")
    with write_transaction():
        result = create_demo(
            Path(current_app.config["SCENARIOS_DIR"]),
            current_app.config["SCENARIO_MAX_BYTES"],
        )
        exercise_id = result.exercise.id if result.exercise else None
    click.echo("Demo tenant 'demo' with team 'Blue Team'.")
    if exercise_id is not None:
        click.echo(
            f"Draft exercise {exercise_id}: schedule and start it from the browser."
        )
    for note in result.notes:
        click.echo(f"Note: {note}")
    click.echo("Demo accounts (passwords are shown only now):")
    for username, role, password in result.passwords:
        click.echo(f"  {username:<16} {role:<9} {password}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the platform (embedded mode: one process, threaded)."""
    run_server(host, port)


def run_server(host: str, port: int) -> None:
    """The one place that starts the web server: Flask-SocketIO (threading, with
    simple-websocket) and, in embedded mode, the in-process engine ticker."""
    from socdrill import realtime
    from socdrill.engine.settings import engine_settings
    from socdrill.engine.ticker import Ticker
    from socdrill.extensions import socketio

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = engine_settings(app.config)
    ticker = None
    publisher = None
    if settings.mode == "embedded":
        # With Redis the process that ticks publishes the journal (every web
        # process delivers it); without, this process's pump reads it.
        publisher = realtime.publisher(app)
        notify = publisher.notify if publisher is not None else realtime.notifier(app)
        ticker = Ticker(app, notify=notify)
        if publisher is not None:
            publisher.active = ticker.leading.is_set
            publisher.start()
        ticker.start()
    click.echo(f"socdrill on http://{host}:{port}/ (instance {app.instance_path})")
    click.echo(
        f"engine: {'in this process' if ticker else 'external (socdrill engine)'}; "
        f"live updates: {'on' if settings.realtime else 'off'}"
    )
    try:
        if settings.realtime:
            realtime.start(app)
            # app.run() (which socketio.run calls) returns at once under the flask
            # CLI unless this marker is cleared.
            os.environ.pop("FLASK_RUN_FROM_CLI", None)
            socketio.run(
                app,
                host=host,
                port=port,
                use_reloader=False,
                allow_unsafe_werkzeug=True,
            )
        else:
            from werkzeug.serving import run_simple

            run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if ticker is not None:
            ticker.stop()
        if publisher is not None:
            publisher.stop()
