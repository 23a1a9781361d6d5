"""Writing into the SIEM: events with their tenant and exercise, labels apart,
streaming detection, and the journal events new alerts cause.

The SIEM is its own database, so a write there cannot share a transaction with the
app database. Delivery is made idempotent instead: event uids are unique, so
writing a window again after a crash stores nothing twice, and the cursor that
says what was delivered moves only after the SIEM write succeeded.
"""

# SQL text here is built from fixed clauses and "?" marks; values are bound.
# ruff: noqa: S608

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from siem import alerts as siem_alerts
from siem.detector import Detector
from siem.rules import load_pack
from siem.store import EventStore
from simulator.events import Event, Label
from socdrill.database import write_transaction
from socdrill.exercise import journal
from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseEvent, Tenant

STORE_KEY = "socdrill_siem_store"
DETECTOR_NAME = "engine"
# Alerts announced per tick and room; a flood becomes one "many alerts" notice.
MAX_ALERT_NOTICES = 200

_store_lock = threading.Lock()


def siem_store(app: Flask) -> EventStore:
    """The app's SIEM store, opened once per app (shared with the console)."""
    with _store_lock:
        store = app.extensions.get(STORE_KEY)
        if store is None:
            store = EventStore.open(app.config["SIEM_URL"])
            with store.begin() as conn:
                siem_alerts.ensure_schema(conn)
            app.extensions[STORE_KEY] = store
        return store


def exercise_key(exercise_id: int) -> str:
    """How the SIEM names an exercise."""
    return str(exercise_id)


def write_events(
    store: EventStore,
    events: Iterable[Event],
    labels: Sequence[Label],
    *,
    tenant: str,
    exercise: str | None,
) -> int:
    """Store events (skipping uids already there) and their labels; return how
    many events were offered."""
    batch = sorted(events, key=lambda e: (e.ts, e.uid))
    if not batch:
        return 0
    store.insert(batch, tenant=tenant, exercise=exercise, on_duplicate="ignore")
    if labels:
        store.insert_labels(list(labels), exercise=exercise)
    return len(batch)


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """A new or grown SIEM alert, as announced to rooms."""

    id: int
    new: bool
    rule_title: str
    level: str
    severity: int
    tenant: str
    exercise: str | None
    host: str
    first_ts: str
    last_ts: str
    event_count: int
    stages: tuple[str, ...]


class Detection:
    """Streaming detection with the bundled rule pack, one watermark for the app."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.detector = Detector(
            store, load_pack(dialect=store.dialect), name=DETECTOR_NAME
        )

    def tick(self, max_events: int) -> list[AlertNotice]:
        """Evaluate new events; describe the alerts created or extended."""
        with self.store.connect() as conn:
            before = int(
                conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM alerts").scalar()
                or 0
            )
        report = self.detector.tick(max_events=max_events)
        touched = sorted(set(report.alert_ids))
        if not touched:
            return []
        return self._describe(touched, before)

    def _describe(self, ids: list[int], before: int) -> list[AlertNotice]:
        notices = []
        with self.store.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.exec_driver_sql(
                    "SELECT id, rule_title, level, severity, tenant, exercise, host, "
                    f"first_ts, last_ts, event_count FROM alerts WHERE id IN ({marks})",
                    tuple(chunk),
                ).all()
                stages = _alert_stages(conn, chunk)
                for row in rows:
                    notices.append(
                        AlertNotice(
                            id=int(row[0]),
                            new=int(row[0]) > before,
                            rule_title=row[1],
                            level=row[2],
                            severity=int(row[3]),
                            tenant=row[4],
                            exercise=row[5],
                            host=row[6],
                            first_ts=row[7],
                            last_ts=row[8],
                            event_count=int(row[9]),
                            stages=tuple(sorted(stages.get(int(row[0]), ()))),
                        )
                    )
        return notices


def _alert_stages(conn: sa.Connection, ids: Sequence[int]) -> dict[int, set[str]]:
    """Ground truth: the stages whose labelled events an alert covers."""
    marks = ",".join("?" * len(ids))
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT ae.alert_id, l.stage FROM alert_events ae "
        "JOIN labels l ON l.event_id = ae.event_id "
        f"WHERE ae.alert_id IN ({marks}) AND l.malicious",
        tuple(ids),
    )
    found: dict[int, set[str]] = {}
    for alert_id, stage in rows:
        found.setdefault(int(alert_id), set()).add(str(stage))
    return found


def journal_alerts(notices: Sequence[AlertNotice]) -> list[ExerciseEvent]:
    """Announce alerts: to the tenant's room as ordinary SIEM alerts (no exercise,
    no ground truth), and to the exercise's control room with the stages they
    belong to. Runs its own write transaction."""
    if not notices:
        return []
    written: list[ExerciseEvent] = []
    with write_transaction():
        slugs = {notice.tenant for notice in notices}
        tenants = dict(
            db.session.execute(
                sa.select(Tenant.slug, Tenant.id).where(Tenant.slug.in_(slugs))
            ).all()
        )
        exercise_ids = {
            int(n.exercise) for n in notices if n.exercise and n.exercise.isdigit()
        }
        exercises = {
            row.id: row
            for row in db.session.scalars(
                sa.select(Exercise).where(Exercise.id.in_(exercise_ids))
            )
        }
        shown: dict[str, int] = {}
        for notice in notices:
            tenant_id = tenants.get(notice.tenant)
            exercise = (
                exercises.get(int(notice.exercise))
                if notice.exercise and notice.exercise.isdigit()
                else None
            )
            public = {
                "alert_id": notice.id,
                "rule_title": notice.rule_title,
                "level": notice.level,
                "severity": notice.severity,
                "host": notice.host,
                "first_ts": notice.first_ts,
                "last_ts": notice.last_ts,
                "event_count": notice.event_count,
            }
            kind = "alert.new" if notice.new else "alert.updated"
            if tenant_id is not None:
                room = journal.tenant_room(tenant_id)
                shown[room] = shown.get(room, 0) + 1
                if shown[room] <= MAX_ALERT_NOTICES:
                    written.append(
                        journal.append_room_event(
                            room,
                            kind,
                            public,
                            exercise_id=exercise.id if exercise else None,
                        )
                    )
            if exercise is not None and notice.new:
                written.append(
                    journal.append_event(
                        exercise,
                        "alert.new",
                        {**public, "stages": list(notice.stages)},
                        room=journal.control_room(exercise.id),
                    )
                )
        for room, count in shown.items():
            if count > MAX_ALERT_NOTICES:
                written.append(
                    journal.append_room_event(
                        room, "alert.many", {"count": count - MAX_ALERT_NOTICES}
                    )
                )
    return written
