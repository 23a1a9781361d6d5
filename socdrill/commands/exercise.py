"""Exercise commands that work without the web server: ``socdrill exercise …``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from socdrill.exercise import lifecycle
from socdrill.extensions import db
from socdrill.models import Exercise, utcnow


def register(cli: click.Group) -> None:
    cli.add_command(exercise)


@click.group()
def exercise() -> None:
    """Control exercises from the command line."""


@exercise.command("list")
@with_appcontext
def list_exercises() -> None:
    """List exercises with their state."""
    for row in db.session.scalars(sa.select(Exercise).order_by(Exercise.id)):
        kind = "announced" if row.announced else "unannounced"
        click.echo(f"{row.id:>5}  {row.state.value:<9} {kind:<11} {row.name}")


@exercise.command("endex")
@click.argument("exercise_id", type=int)
@click.option("--reason", default="ENDEX from the command line", show_default=True)
@with_appcontext
def endex(exercise_id: int, reason: str) -> None:
    """End exercise EXERCISE_ID now (idempotent; works while the web UI is down)."""
    try:
        outcome = lifecycle.endex(exercise_id, None, utcnow(), reason, actor_name="cli")
    except lifecycle.LifecycleError as error:
        raise click.ClickException(str(error)) from None
    click.echo(outcome.message)


@exercise.command("sweep")
@with_appcontext
def sweep() -> None:
    """ENDEX every exercise past its maximum duration (the dead-man switch)."""
    ended = lifecycle.auto_endex_overdue(utcnow())
    click.echo(f"Ended {len(ended)} exercise(s) past their maximum duration.")


@exercise.command("dry-run")
@click.option(
    "--scenario",
    "scenario_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Scenario file to play.",
)
@click.option("--seed", type=int, required=True, help="Seed for the organisation.")
@click.option(
    "--respond",
    "respond_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML script of the team: response actions such as "
    "'- {at: 20m, isolate_host: victim_ws}' and acknowledgements, verdicts, ticket "
    "fields, reports and crisis replies (see docs/engine.md).",
)
@click.option(
    "--score",
    is_flag=True,
    help="Add the score profile the script's actions would earn.",
)
@click.option(
    "--org-size",
    type=click.Choice(["tiny", "small", "medium", "large"]),
    default="small",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def dry_run(
    scenario_file: str,
    seed: int,
    respond_file: str | None,
    score: bool,
    org_size: str,
    as_json: bool,
) -> None:
    """Play a scenario at full speed into a scratch SIEM, with detection.

    Prints per stage whether it fired, was prevented or switched to its fallback,
    its events and the alerts they raised; with --score, the team score profile of
    the scripted actions.
    """
    from socdrill.engine.dry_run_cli import run_dry_run

    run_dry_run(scenario_file, seed, respond_file, org_size, as_json, score=score)
