"""``socdrill engine``: run the exercise engine alone, and manage live noise and
forwarding.

``socdrill engine`` takes the leader lock (waiting while another engine holds it)
and ticks until stopped (Ctrl-C or SIGTERM). Use it when the web server runs with
``SOCDRILL_ENGINE_MODE=external`` (several web processes, or a separate host).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from socdrill import realtime
from socdrill.engine.forwarding import ForwardingSetupError, set_target
from socdrill.engine.live import LiveError, start_live, stop_live
from socdrill.engine.settings import MAX_BASELINE_HOURS, engine_settings
from socdrill.engine.ticker import Engine, Ticker
from socdrill.extensions import db
from socdrill.models import Tenant


def register(cli: click.Group) -> None:
    cli.add_command(engine)


@click.group(invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run one tick and exit.")
@click.pass_context
@with_appcontext
def engine(ctx: click.Context, once: bool) -> None:
    """Run the exercise engine (ticks until stopped)."""
    if ctx.invoked_subcommand is not None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        summary = Engine(app).tick()
        click.echo(
            f"tick: {len(summary.advanced)} exercise(s), {summary.fired} inject(s), "
            f"{summary.events} event(s), {summary.noise} noise event(s), "
            f"{summary.alerts} new alert(s), {len(summary.scored)} scored, "
            f"{len(summary.purged)} purged under the retention policy"
        )
        for error in summary.errors:
            click.echo(f"error: {error}", err=True)
        return
    run_engine(app)


def run_engine(app: object) -> None:
    """Tick until SIGINT or SIGTERM; the leader lock makes a second engine wait."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # With Redis, this process publishes the journal for every web process, but
    # only while it leads: a waiting engine publishes nothing.
    publisher = realtime.publisher(app)  # type: ignore[arg-type]
    ticker = Ticker(
        app,  # type: ignore[arg-type]
        notify=publisher.notify if publisher is not None else None,
    )
    if publisher is not None:
        publisher.active = ticker.leading.is_set
    click.echo("socdrill engine: waiting for the leader lock …", err=True)
    ticker.start()
    try:
        while not stop.is_set():
            if ticker.leading.wait(0.5):
                click.echo("socdrill engine: ticking (Ctrl-C to stop)", err=True)
                if publisher is not None:
                    publisher.start()
                    click.echo(
                        "socdrill engine: publishing live updates through Redis",
                        err=True,
                    )
                break
        stop.wait()
    finally:
        ticker.stop()
        if publisher is not None:
            publisher.stop()
    click.echo("socdrill engine: stopped", err=True)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    return tenant


@engine.group()
def live() -> None:
    """Continuous background noise for a tenant."""


@live.command("start")
@click.argument("tenant")
@click.option(
    "--baseline-hours",
    type=float,
    default=None,
    help="History to backfill [default: LIVE_BASELINE_HOURS, 24].",
)
@click.option("--scale", type=float, default=1.0, show_default=True)
@click.option(
    "--profile",
    type=click.Choice(["office_hours", "24x7", "quiet"]),
    default=None,
    help="Noise rhythm [default: from the tenant's noise profile].",
)
@with_appcontext
def live_start(
    tenant: str, baseline_hours: float | None, scale: float, profile: str | None
) -> None:
    """Make TENANT live: backfill a baseline, then noise in real time."""
    settings = engine_settings(current_app.config)
    hours = settings.baseline_hours if baseline_hours is None else baseline_hours
    try:
        env = start_live(
            _tenant(tenant),
            baseline_hours=hours,
            max_baseline_hours=MAX_BASELINE_HOURS,
            scale=scale,
            profile=profile,
        )
    except LiveError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"tenant {tenant} is live ({env.profile}); the engine backfills "
        f"{hours:g} h of baseline"
    )


@live.command("stop")
@click.argument("tenant")
@with_appcontext
def live_stop(tenant: str) -> None:
    """Stop TENANT's background noise."""
    changed = stop_live(_tenant(tenant))
    click.echo(f"tenant {tenant}: " + ("stopped" if changed else "was not live"))


@engine.command("forward")
@click.argument("tenant")
@click.argument("url")
@click.option("--payload", type=click.Choice(["raw", "cef"]), default="raw")
@with_appcontext
def forward(tenant: str, url: str, payload: str) -> None:
    """Forward TENANT's events to URL (udp:// or tcp://; host on the allow-list)."""
    settings = engine_settings(current_app.config)
    try:
        target = set_target(
            _tenant(tenant),
            url,
            payload=payload,
            allowed_hosts=settings.forward_allowed_hosts,
        )
    except ForwardingSetupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"tenant {tenant} forwards to {target.url} ({payload}), marked")
