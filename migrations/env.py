"""Alembic environment: runs inside the Flask app, with its engine and metadata."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from flask import current_app

from socdrill.models.base import UTCDateTime

config = context.config
extension = current_app.extensions["migrate"]
target_metadata = extension.db.metadatas[None]


def render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Write our column types as portable SQLAlchemy types in generated scripts."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime()"
    if kind == "type" and isinstance(item, sa.JSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def skip_empty_revisions(_context: Any, _revision: Any, directives: list[Any]) -> None:
    """`db migrate` with no schema change writes no empty script."""
    autogenerate = getattr(config.cmd_opts, "autogenerate", False)
    if autogenerate and directives[0].upgrade_ops.is_empty():
        directives[:] = []


def run_offline() -> None:
    context.configure(
        url=str(extension.db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    options = dict(extension.configure_args)
    options.setdefault("process_revision_directives", skip_empty_revisions)
    options.setdefault("render_item", render_item)
    with extension.db.engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, **options
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
