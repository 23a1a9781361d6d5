"""``socdrill import``: recorded logs (EVTX, EVTX-as-JSON, NDJSON) into the SIEM."""

from __future__ import annotations

from pathlib import Path

import click

from siem.importers import LogImportError, import_file
from siem.store import StoreError


def register(cli: click.Group) -> None:
    cli.add_command(import_command)


@click.command("import")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--tenant", default="", help="Tenant the events belong to.")
@click.option("--exercise", default=None, help="Exercise the events belong to.")
@click.option(
    "--siem",
    "siem_url",
    default=None,
    metavar="URL",
    help="Event store URL [default: $SOCDRILL_SIEM_URL or the instance's siem.db].",
)
def import_command(
    files: tuple[Path, ...], tenant: str, exercise: str | None, siem_url: str | None
) -> None:
    """Import FILES (EVTX, EVTX exported as JSON, or NDJSON) into the event store.

    The format is detected from the content. Each file is parsed completely before
    anything is stored, so a malformed file changes nothing; events already stored
    (same file imported twice) are skipped.
    """
    from socdrill.commands.siem import open_store

    store = open_store(siem_url, create_folder=True)
    try:
        for path in files:
            try:
                result = import_file(store, path, tenant=tenant, exercise=exercise)
            except (LogImportError, StoreError) as exc:
                raise click.ClickException(str(exc)) from None
            skipped = (
                f", {result.duplicates} already stored" if result.duplicates else ""
            )
            click.echo(f"{path}: {result.stored} events imported{skipped}")
    finally:
        store.close()
