"""Retention of individual-level review data (SCORING.md HR rule 7).

Individual-level data of an exercise is kept ``RETENTION_INDIVIDUAL_MONTHS`` (24 by
default) after ENDEX. Then :func:`purge` removes or pseudonymises it and keeps the
team's record. Per exercise:

- **removed**: the skill states after the exercise, the contests, and every section
  of the stored score document that ``scoring.hr`` classes as individual (the
  per-person points, attributions and skills);
- **pseudonymised**: the activity log, the scorer's input. Each person's rows lose
  the link to the account and carry a pseudonym of this exercise instead
  (``participant-1``, ``participant-2`` …, in order of first action); people named
  in hand-offs, mentions, approvals and the live journal get the same pseudonyms,
  so the team-level score can still be computed again from the log (the scorer's
  input names a row without an account by its pseudonym);
- **unlinked**: who was assigned alerts and tickets, wrote ticket entries, sent
  reports and took response actions (the tickets keep what was done, not who);
- **cleared**: the text of crisis replies and of the team's chat messages posted in
  the exercise. The scorer only ever reads their metadata (HR rule 4), which stays.

Kept: TES, components, stages, KPIs, damage, triage, crisis communication, cohesion
and coverage (team aggregates), evaluator grades, corrective actions, ticket
contents and the audit log (append-only, with its own retention). One audit row per
purged exercise records the counts; a :class:`RetentionPurge` row marks it, so a
second run finds nothing to do.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from scoring.hr import FIELD_CLASSES
from socdrill import audit
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    AlertTriage,
    ChatMessage,
    Contest,
    CrisisDelivery,
    CrisisReply,
    Exercise,
    ExerciseEvent,
    ExerciseState,
    Incident,
    IncidentEntry,
    IncidentReport,
    ResponseActionRecord,
    ScoreRecord,
    SkillSnapshot,
    User,
    incident_assignees,
)
from socdrill.models.review import RetentionPurge

log = logging.getLogger(__name__)

AUDIT_ACTION = "review.retention_purge"
REMOVED_TEXT = "[removed under the retention policy]"
PSEUDONYM = "participant-{}"
# Activity fields that name people (the scorer matches them against actors).
PERSON_FIELDS = ("to", "approved_by", "assignee")
PERSON_LISTS = ("mentions",)
# How often the engine looks for exercises to purge, and how many it purges per
# tick (a first run over years of history is spread over several ticks).
PURGE_EVERY = timedelta(days=1)
PURGE_BATCH = 20
FINISHED = (ExerciseState.ENDED, ExerciseState.REVIEWED)


def months_before(moment: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months earlier (the day clamped to the
    month's length: 31 March minus one month is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_months(app: Flask) -> int:
    """The policy in force (validated when the configuration was loaded)."""
    return int(app.config.get("RETENTION_INDIVIDUAL_MONTHS", 24))


def purge_of(exercise_id: int) -> RetentionPurge | None:
    """The purge of ``exercise_id``'s individual data, if it happened."""
    return db.session.get(RetentionPurge, exercise_id)


def due(now: datetime, months: int, limit: int | None = None) -> list[int]:
    """Exercises that ended more than ``months`` before ``now``, not yet purged,
    oldest first."""
    statement = (
        sa.select(Exercise.id)
        .where(
            Exercise.state.in_(FINISHED),
            Exercise.ended_at.is_not(None),
            Exercise.ended_at < months_before(now, months),
            ~sa.exists().where(RetentionPurge.exercise_id == Exercise.id),
        )
        .order_by(Exercise.ended_at, Exercise.id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(db.session.scalars(statement))


# --- pseudonyms --------------------------------------------------------------------


class Pseudonyms:
    """Username → ``participant-N`` of one exercise, numbered as people appear."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def of(self, name: str) -> str:
        if name not in self.names:
            self.names[name] = PSEUDONYM.format(len(self.names) + 1)
        return self.names[name]

    def fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Activity fields with every person named by their pseudonym."""
        out = dict(fields)
        for key in PERSON_FIELDS:
            if out.get(key):
                out[key] = self.of(str(out[key]))
        for key in PERSON_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [self.of(str(name)) for name in out[key]]
        note = out.get("note")
        if isinstance(note, Mapping):
            # Which checklist items a hand-off covered is what the scorer reads.
            out["note"] = {
                k: v if k == "completeness" else bool(v) for k, v in note.items()
            }
        elif note is not None:
            out["note"] = ""
        return out


def _pseudonymise_activity(exercise_id: int, names: Pseudonyms) -> tuple[int, set[int]]:
    """Replace each actor by a pseudonym; the chat message ids the log points at."""
    rows = db.session.execute(
        sa.select(Activity, User.username)
        .outerjoin(User, User.id == Activity.actor_id)
        .where(Activity.exercise_id == exercise_id)
        .order_by(Activity.at, Activity.id)
    ).all()
    changed = 0
    messages: set[int] = set()
    for row, username in rows:
        payload = dict(row.payload or {})
        fields = payload.get("fields") or {}
        if row.kind == "chat" and isinstance(fields.get("message_id"), int):
            messages.add(fields["message_id"])
        if row.actor_id is None:
            continue  # the system, or already pseudonymised
        payload["actor"] = names.of(username or f"user-{row.actor_id}")
        payload["fields"] = names.fields(fields)
        if isinstance(payload.get("ticket_fields"), Mapping):
            payload["ticket_fields"] = names.fields(payload["ticket_fields"])
        # The answer kept for a retried request (it names people); none comes now.
        payload["result"] = {}
        if row.target_type == "user":
            payload["targets"] = [names.of(str(t)) for t in payload.get("targets", [])]
            row.target_id = names.of(row.target_id) if row.target_id else ""
        row.payload = payload
        row.actor_id = None
        changed += 1
    return changed, messages


def _pseudonymise_journal(exercise_id: int, names: Pseudonyms) -> int:
    """The live journal names who acted ("by"); replay must not reveal it."""
    changed = 0
    for event in db.session.scalars(
        sa.select(ExerciseEvent).where(ExerciseEvent.exercise_id == exercise_id)
    ):
        by = (event.payload or {}).get("by")
        if not isinstance(by, str) or by == "system":
            continue
        event.payload = {**event.payload, "by": names.of(by)}
        changed += 1
    return changed


# --- the stored score --------------------------------------------------------------


def team_document(
    document: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], int]:
    """``document`` without its per-person sections, and how many people they held.

    ``previous`` is the stored document of a purged exercise being scored again: its
    cohesion and coverage were measured while the people were still known and stay.
    """
    people = len(document.get("individual") or {})
    out = {
        key: value
        for key, value in document.items()
        if FIELD_CLASSES.get(key, "individual") != "individual"
    }
    out["individual"] = {}
    for key in ("cohesion", "coverage"):
        if previous is not None and key in previous:
            out[key] = previous[key]
    return out, people


def _strip_score(exercise_id: int) -> int:
    record = db.session.get(ScoreRecord, exercise_id)
    if record is None:
        return 0
    document, people = team_document(record.document)
    if document != record.document:
        record.document = document  # reassigned: in-place edits are not tracked
    return people


# --- the rest of the exercise's people data -----------------------------------------


def _clear_crisis_replies(exercise_id: int) -> int:
    deliveries = sa.select(CrisisDelivery.id).where(
        CrisisDelivery.exercise_id == exercise_id
    )
    result = db.session.execute(
        sa.update(CrisisReply)
        .where(
            CrisisReply.delivery_id.in_(deliveries),
            sa.or_(CrisisReply.text != REMOVED_TEXT, CrisisReply.actor_id.is_not(None)),
        )
        .values(text=REMOVED_TEXT, actor_id=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _clear_chat(message_ids: set[int]) -> int:
    if not message_ids:
        return 0
    result = db.session.execute(
        sa.update(ChatMessage)
        .where(
            ChatMessage.id.in_(sorted(message_ids)),
            ChatMessage.kind == "message",
            ChatMessage.body != REMOVED_TEXT,
        )
        .values(body=REMOVED_TEXT, author_id=None, mentions=[])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _updated(statement: Any) -> int:
    return int(db.session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def _unlink_console(exercise_id: int, names: Pseudonyms) -> int:
    """Forget who held, wrote or sent what in the exercise's alerts and tickets."""
    incidents = sa.select(Incident.id).where(Incident.exercise_id == exercise_id)
    links = _updated(
        sa.update(AlertTriage)
        .where(
            AlertTriage.exercise_id == exercise_id,
            sa.or_(
                AlertTriage.assignee_id.is_not(None),
                AlertTriage.updated_by_id.is_not(None),
            ),
        )
        .values(assignee_id=None, updated_by_id=None)
    )
    links += _updated(
        sa.update(Incident)
        .where(Incident.exercise_id == exercise_id, Incident.created_by_id.is_not(None))
        .values(created_by_id=None)
    )
    links += _updated(
        sa.delete(incident_assignees).where(
            incident_assignees.c.incident_id.in_(incidents)
        )
    )
    links += _updated(
        sa.update(IncidentReport)
        .where(
            IncidentReport.incident_id.in_(incidents),
            IncidentReport.actor_id.is_not(None),
        )
        .values(actor_id=None)
    )
    links += _updated(
        sa.update(ResponseActionRecord)
        .where(
            ResponseActionRecord.exercise_id == exercise_id,
            ResponseActionRecord.actor_id.is_not(None),
        )
        .values(actor_id=None)
    )
    for entry in db.session.scalars(
        sa.select(IncidentEntry).where(
            IncidentEntry.incident_id.in_(incidents),
            IncidentEntry.actor_id.is_not(None),
        )
    ):
        entry.actor_id = None
        if entry.kind == "assign":
            entry.text = f"Assigned {REMOVED_TEXT}"
        if isinstance((entry.data or {}).get("to"), str):
            entry.data = {**entry.data, "to": names.of(entry.data["to"])}
        links += 1
    return links


# --- the purge ---------------------------------------------------------------------


@dataclass
class ExercisePurge:
    """What the purge of one exercise removed or pseudonymised."""

    exercise_id: int
    name: str
    ended_at: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def purge_exercise(exercise: Exercise) -> dict[str, int]:
    """Remove or pseudonymise ``exercise``'s individual data (caller's transaction)."""
    names = Pseudonyms()
    counts: dict[str, int] = {}
    counts["skill_states"] = _updated(
        sa.delete(SkillSnapshot).where(SkillSnapshot.exercise_id == exercise.id)
    )
    counts["contests"] = _updated(
        sa.delete(Contest).where(Contest.exercise_id == exercise.id)
    )
    counts["scored_people"] = _strip_score(exercise.id)
    counts["activity_rows"], messages = _pseudonymise_activity(exercise.id, names)
    counts["journal_events"] = _pseudonymise_journal(exercise.id, names)
    counts["crisis_replies"] = _clear_crisis_replies(exercise.id)
    counts["chat_messages"] = _clear_chat(messages)
    counts["console_links"] = _unlink_console(exercise.id, names)
    return counts


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


def purge(
    now: datetime,
    months: int,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    actor_name: str = "cli",
) -> list[ExercisePurge]:
    """Purge every exercise that ended more than ``months`` before ``now``.

    Each exercise is one write transaction with its :class:`RetentionPurge` row and
    its audit row. ``dry_run`` does the same work and rolls it back, so the counts
    are exactly what a real run would remove.
    """
    done = []
    for exercise_id in due(now, months, limit):
        try:
            with write_transaction():
                exercise = db.session.get(Exercise, exercise_id, populate_existing=True)
                if exercise is None or purge_of(exercise_id) is not None:
                    continue  # gone or purged meanwhile
                counts = purge_exercise(exercise)
                ended = exercise.ended_at or now
                done.append(ExercisePurge(exercise.id, exercise.name, ended, counts))
                if dry_run:
                    raise _DryRun
                db.session.add(
                    RetentionPurge(
                        exercise_id=exercise.id,
                        purged_at=now,
                        months=months,
                        counts=counts,
                    )
                )
                audit.record(
                    AUDIT_ACTION,
                    actor_name=actor_name,
                    tenant_id=exercise.tenant_id,
                    target=exercise,
                    detail={
                        "months": months,
                        "ended_at": ended.isoformat(),
                        "counts": counts,
                    },
                )
        except _DryRun:
            db.session.expire_all()
    return done


class DailyPurge:
    """The engine's daily run of :func:`purge` (only the leader engine ticks).

    The first tick of an engine purges, then one tick a day; a run that hit the
    batch limit goes on at the next tick. Purging is idempotent, so a restart or a
    new leader running it again early changes nothing.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.next_run: datetime | None = None

    def tick(self, now: datetime) -> list[int]:
        if self.next_run is not None and now < self.next_run:
            return []
        done = purge(
            now, retention_months(self.app), limit=PURGE_BATCH, actor_name="system"
        )
        if len(done) < PURGE_BATCH:
            self.next_run = now + PURGE_EVERY
        if done:
            log.info("retention: individual data of %d exercise(s) purged", len(done))
        return [p.exercise_id for p in done]
