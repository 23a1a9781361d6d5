"""``socdrill backup FILE``: a consistent copy of the app database (or the SIEM store)
taken while the platform runs.

- SQLite: the online backup API copies one consistent snapshot, WAL included, without
  stopping writers (copying the ``.db`` file alone can miss committed pages still in
  the ``-wal`` file). The copy is checked and switched to a single-file journal.
- PostgreSQL: ``pg_dump --format=custom``; restore it with ``pg_restore``.

The copy is written beside FILE under a temporary name and renamed into place only
when complete, so FILE is either a whole backup or absent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from socdrill.extensions import db

PG_DUMP_GLOB = "usr/lib/postgresql/*/bin/pg_dump"


class BackupError(click.ClickException):
    """A backup that cannot be made; nothing was written."""


def register(cli: click.Group) -> None:
    cli.add_command(backup)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--siem", "siem_store", is_flag=True, help="Back up the SIEM event store instead."
)
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
@with_appcontext
def backup(file: Path, siem_store: bool, overwrite: bool) -> None:
    """Write a consistent backup of the app database to FILE while it runs.

    SQLite databases are copied with SQLite's online backup API; PostgreSQL databases
    are dumped with pg_dump in its custom format (restore with pg_restore).
    """
    try:
        url = (
            sa.make_url(current_app.config["SIEM_URL"]) if siem_store else db.engine.url
        )
    except sa.exc.ArgumentError:
        raise BackupError("SOCDRILL_SIEM_URL is not a database URL") from None
    what = "the SIEM store" if siem_store else "the app database"
    target = file.expanduser().resolve()
    check_target(target, overwrite)
    backend = url.get_backend_name()
    if backend == "sqlite":
        source = sqlite_path(url)
        if source == target:
            raise BackupError("FILE is the database itself; choose another path")
        backup_sqlite(source, target)
    elif backend == "postgresql":
        backup_postgresql(url, target)
    else:
        raise BackupError(f"cannot back up a {backend!r} database")
    size = target.stat().st_size
    click.echo(f"Backed up {what} to {target} ({size} bytes).")


def check_target(target: Path, overwrite: bool) -> None:
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; pass --overwrite to replace it")


def sqlite_path(url: sa.URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise BackupError("an in-memory database has nothing to back up")
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"no database at {path}; run `socdrill init` first")
    return path


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def backup_sqlite(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` with the online backup API, then verify it."""
    partial = _partial(target)
    try:
        with (
            contextlib.closing(sqlite3.connect(source)) as origin,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            origin.backup(copy)
            # One self-contained file: no -wal/-shm needed beside the backup.
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite backup failed: {error}") from None
    finally:
        partial.unlink(missing_ok=True)


def pg_dump_binary() -> str:
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(Path("/").glob(PG_DUMP_GLOB))
    if candidates:
        return str(candidates[-1])
    raise BackupError(
        "pg_dump is not installed (Debian package 'postgresql-client'); "
        "it must be as new as the server"
    )


def backup_postgresql(url: sa.URL, target: Path) -> None:
    """Dump the database with ``pg_dump --format=custom``."""
    binary = pg_dump_binary()
    # Connection details go in the environment: a password in argv is visible in ps.
    # Unset parts are left to libpq's own defaults (~/.pgpass, PGHOST, ...).
    given = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": url.query.get("sslmode"),
    }
    environment = {
        **os.environ,
        **{key: value for key, value in given.items() if isinstance(value, str)},
    }
    partial = _partial(target)
    try:
        result = subprocess.run(  # noqa: S603 (fixed argument list, no shell)
            [binary, "--format=custom", "--no-password", f"--file={partial}"],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
