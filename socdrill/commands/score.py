"""``socdrill score EXERCISE``: the score document of an ended exercise."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from scoring import ScoringInputError, score_exercise
from socdrill.engine.delivery import siem_store
from socdrill.engine.scoring_input import ScoringDataError, scoring_exercise
from socdrill.extensions import db
from socdrill.models import Exercise


def register(cli: click.Group) -> None:
    cli.add_command(score)


@click.command()
@click.argument("exercise_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the whole document.")
@with_appcontext
def score(exercise_id: int, as_json: bool) -> None:
    """Score EXERCISE_ID from its scenario, labels, alerts and activity log."""
    exercise = db.session.get(Exercise, exercise_id)
    if exercise is None:
        raise click.ClickException(f"exercise {exercise_id} does not exist")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        document = score_exercise(scoring_exercise(exercise, siem_store(app)))
    except (ScoringDataError, ScoringInputError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))
        return
    _summary(exercise, document)


def _summary(exercise: Exercise, document: dict[str, Any]) -> None:
    """A short human summary: team score, components, one line per stage."""
    click.echo(
        f"Exercise {exercise.id}: {exercise.name} ({exercise.scenario_id}), "
        f"scoring spec {document.get('scoring_spec_version')}"
    )
    tes = document.get("tes") or {}
    if "tes" in tes:
        click.echo(f"  team score (TES): {_number(tes['tes'])}")
    for name, value in (document.get("components") or {}).items():
        click.echo(f"  {name:<18} {_number(value)}")
    for stage in document.get("stages") or []:
        detected = "detected" if stage.get("detected") else "not detected"
        ttd = stage.get("ttd")
        after = f" after {ttd / 60:.1f} min" if isinstance(ttd, int | float) else ""
        click.echo(
            f"  stage {stage.get('stage')} ({stage.get('tier')}): "
            f"{stage.get('status')}, {detected}{after}"
        )


def _number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)
