"""The append-only audit log: logins, failures, role and grant changes, every
exercise control action.

Rows are only ever inserted. The ORM refuses updates and deletes, and the database
refuses them too (a trigger), so no code path can rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from socdrill.models.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    # The actor's id may later point nowhere; the name keeps the row readable.
    actor_id: so.Mapped[int | None] = so.mapped_column(index=True)
    actor_name: so.Mapped[str] = so.mapped_column(sa.String(80))
    action: so.Mapped[str] = so.mapped_column(sa.String(60), index=True)
    tenant_id: so.Mapped[int | None]
    target_type: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    target_id: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    ip: so.Mapped[str] = so.mapped_column(sa.String(45), default="")
    detail: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit row."""


@sa.event.listens_for(AuditEntry, "before_update")
def _refuse_update(*_args: Any) -> None:
    raise AppendOnlyError("audit entries are append-only")


@sa.event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(*_args: Any) -> None:
    raise AppendOnlyError("audit entries are append-only")


SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
)
# An integrity error on both backends (SQLSTATE 23001 here, RAISE(ABORT) on SQLite),
# so callers catch one exception type whatever the database.
POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only' "
    "USING ERRCODE = 'restrict_violation'; END $$ "
    "LANGUAGE plpgsql",
    "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
)

for _statement in SQLITE_TRIGGERS:
    sa.event.listen(
        AuditEntry.__table__,
        "after_create",
        sa.DDL(_statement).execute_if(dialect="sqlite"),
    )
for _statement in POSTGRESQL_TRIGGERS:
    sa.event.listen(
        AuditEntry.__table__,
        "after_create",
        sa.DDL(_statement).execute_if(dialect="postgresql"),
    )
