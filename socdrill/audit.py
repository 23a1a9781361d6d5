"""Writing audit rows: one call per security-relevant action."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from socdrill.extensions import db
from socdrill.models import AuditEntry, User


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_name: str | None = None,
    tenant_id: int | None = None,
    target: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to the current transaction (the caller commits it).

    ``target`` is a model instance; its table and id are stored. Without an actor,
    the row names the command line or the system as the actor.
    """
    in_request = has_request_context()
    name = actor.username if actor is not None else actor_name
    if name is None:
        name = "anonymous" if in_request else "cli"
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=name[:80],
        action=action,
        tenant_id=tenant_id,
        target_type=target.__tablename__ if target is not None else "",
        target_id=str(target.id) if target is not None else "",
        ip=(request.remote_addr or "")[:45] if in_request else "",
        detail=detail or {},
    )
    db.session.add(entry)
    return entry
