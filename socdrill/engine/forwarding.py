"""Copies of a tenant's events to its allow-listed SIEM, marked as exercise data.

A tenant may name one forwarding target (``udp://host:port`` or ``tcp://…``);
the host must also be on the installation's allow-list
(``FORWARD_ALLOWED_HOSTS``), so nothing leaves unless both say so. Every event
carries the exercise marker (:mod:`siem.forwarders`): the exercise's id, or
``live-<tenant>`` for background traffic. A watermark (the last SIEM event id
sent) makes forwarding resume after a restart; a failure is kept on the target
and retried on the next tick.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa

from siem.forwarders import (
    ExerciseMarker,
    ForwardingError,
    SyslogDestination,
    SyslogForwarder,
    check_allowed,
)
from siem.store import EventStore, StoredEvent
from socdrill.database import write_transaction
from socdrill.engine.settings import EngineSettings
from socdrill.extensions import db
from socdrill.models import Exercise, ForwardingTarget, Tenant

log = logging.getLogger(__name__)

BATCH = 2000


class ForwardingSetupError(ValueError):
    """The target was refused; nothing changed."""


def set_target(
    tenant: Tenant, url: str, *, payload: str, allowed_hosts: tuple[str, ...]
) -> ForwardingTarget:
    """Give ``tenant`` a forwarding target (checked against the allow-list)."""
    if payload not in ("raw", "cef"):
        raise ForwardingSetupError("payload must be 'raw' or 'cef'")
    try:
        destination = SyslogDestination.parse(url)
        check_allowed(destination.host, allowed_hosts)
    except ForwardingError as error:
        raise ForwardingSetupError(str(error)) from None
    with write_transaction():
        target = db.session.get(ForwardingTarget, tenant.id)
        if target is None:
            target = ForwardingTarget(tenant_id=tenant.id, forwarded_until_id=0)
            db.session.add(target)
        target.url = destination.url()
        target.payload = payload
        target.enabled = True
        target.last_error = ""
    return target


def forward_all(store: EventStore, settings: EngineSettings) -> int:
    """Send every enabled target its tenant's new events; return how many."""
    targets = db.session.scalars(
        sa.select(ForwardingTarget).where(ForwardingTarget.enabled)
    ).all()
    sent = 0
    for target in targets:
        tenant = db.session.get(Tenant, target.tenant_id)
        try:
            sent += _forward(store, target, tenant, settings)
        except ForwardingError as error:
            log.warning("forwarding for %s failed: %s", tenant.slug, error)
            with write_transaction():
                db.session.get(ForwardingTarget, target.tenant_id).last_error = str(
                    error
                )[:300]
    return sent


def _forward(
    store: EventStore,
    target: ForwardingTarget,
    tenant: Tenant,
    settings: EngineSettings,
) -> int:
    with store.connect() as conn:
        ids = [
            int(row[0])
            for row in conn.exec_driver_sql(
                "SELECT id FROM events WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?",
                (tenant.slug, target.forwarded_until_id, BATCH),
            )
        ]
    if not ids:
        return 0
    stored = store.get_many(ids)
    groups: dict[str | None, list[StoredEvent]] = defaultdict(list)
    for item in stored:
        groups[item.exercise].append(item)
    sent = 0
    for exercise_key, items in groups.items():
        marker = _marker(exercise_key, tenant)
        with SyslogForwarder(
            target.url,
            allowed_hosts=settings.forward_allowed_hosts,
            marker=marker,
            payload="cef" if target.payload == "cef" else "raw",
        ) as forwarder:
            sent += forwarder.send(item.event for item in items)
    with write_transaction():
        row = db.session.get(ForwardingTarget, target.tenant_id)
        row.forwarded_until_id = ids[-1]
        row.last_error = ""
    return sent


def _marker(exercise_key: str | None, tenant: Tenant) -> ExerciseMarker:
    if exercise_key and exercise_key.isdigit():
        exercise = db.session.get(Exercise, int(exercise_key))
        name = exercise.name if exercise else ""
        return ExerciseMarker(id=exercise_key, name=name[:128])
    return ExerciseMarker(id=f"live-{tenant.slug}", name="background traffic")
