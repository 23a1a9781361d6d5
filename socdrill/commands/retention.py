"""``socdrill retention purge [--dry-run]``: remove individual-level review data of
exercises that ended longer ago than ``RETENTION_INDIVIDUAL_MONTHS``.

The engine runs the same purge once a day; this command runs it now, or with
``--dry-run`` shows what it would remove and changes nothing.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from socdrill.models import utcnow
from socdrill.review.retention import ExercisePurge, purge, retention_months

LABELS = {
    "skill_states": "skill state(s)",
    "contests": "contest(s)",
    "scored_people": "person section(s) of the score",
    "activity_rows": "activity row(s) pseudonymised",
    "journal_events": "journal event(s) pseudonymised",
    "crisis_replies": "crisis reply text(s)",
    "chat_messages": "chat message text(s)",
    "console_links": "alert and ticket link(s) to people",
}


def register(cli: click.Group) -> None:
    cli.add_command(retention)


@click.group()
def retention() -> None:
    """Retention of individual-level review data."""


@retention.command("purge")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be removed; change nothing."
)
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Purge individual data of exercises ended longer ago than the policy."""
    months = retention_months(current_app)  # type: ignore[arg-type]
    done = purge(utcnow(), months, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"Retention policy: individual-level data is kept {months} months after "
        f"ENDEX{' (dry run: nothing changed)' if dry_run else ''}."
    )
    if not done:
        click.echo("No exercise is due: nothing to purge.")
        return
    for item in done:
        click.echo(_line(item, verb))
    click.echo(
        f"{len(done)} exercise(s) {'would be ' if dry_run else ''}purged, "
        f"{sum(item.total for item in done)} item(s) in all."
    )


def _line(item: ExercisePurge, verb: str) -> str:
    counts = ", ".join(
        f"{item.counts.get(key, 0)} {label}" for key, label in LABELS.items()
    )
    return (
        f"exercise {item.exercise_id} {item.name!r} "
        f"(ended {item.ended_at:%Y-%m-%d}): {verb} {counts}"
    )
