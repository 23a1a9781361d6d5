"""Changing what the debrief stores: grades, corrective actions, contests and
integrity clearances. Each change is one write transaction with its audit row;
a change that is an input of the scorer (a grade, a clearance, an upheld contest's
correction) scores the exercise again in the same transaction, so the stored
score never disagrees with its inputs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from socdrill import audit
from socdrill.console.errors import Conflict, Invalid, NotFound
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import (
    ActionStatus,
    Contest,
    ContestStatus,
    CorrectiveAction,
    Exercise,
    Incident,
    IntegrityClearance,
    Role,
    ScoreRecord,
    TicketGradeRecord,
    User,
    utcnow,
)
from socdrill.review import retention, scores
from socdrill.review.access import took_part
from socdrill.review.schemas import (
    ActionIn,
    ActionUpdate,
    ContestIn,
    ContestResolve,
    GradeIn,
    IntegrityIn,
)

# An improvement plan looks ahead; a due date further out is a typo.
LONGEST_PLAN = timedelta(days=730)


def _fresh(exercise: Exercise) -> Exercise:
    """Re-read the exercise inside the write transaction (fail closed)."""
    row = db.session.get(Exercise, exercise.id, populate_existing=True)
    if row is None:
        raise NotFound("no such exercise")
    if not row.finished:
        raise Conflict("the debrief opens after ENDEX")
    return row


def known_tickets(exercise: Exercise) -> list[str]:
    """Ticket references of the exercise: its incidents and those the score names."""
    refs = {
        f"INC-{i}"
        for i in db.session.scalars(
            sa.select(Incident.id).where(Incident.exercise_id == exercise.id)
        )
    }
    record = db.session.get(ScoreRecord, exercise.id)
    if record is not None:
        report = (record.document.get("details") or {}).get("report") or {}
        refs |= {t["ticket"] for t in report.get("tickets") or []}
    return sorted(refs, key=lambda r: (len(r), r))


def _check_ticket(exercise: Exercise, ticket: str) -> None:
    if ticket not in known_tickets(exercise):
        raise Invalid(
            f"{ticket} is not an incident ticket of this exercise",
            {"ticket": "unknown ticket"},
        )


def _add_grade(
    exercise: Exercise, actor: User, ticket: str, section: str, grade: str, note: str
) -> TicketGradeRecord:
    _check_ticket(exercise, ticket)
    row = TicketGradeRecord(
        exercise_id=exercise.id,
        ticket=ticket,
        section=section,
        grade=grade,
        note=note,
        grader_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "review.grade",
        actor=actor,
        tenant_id=exercise.tenant_id,
        target=exercise,
        detail={"ticket": ticket, "section": section, "grade": grade},
    )
    return row


def grade(exercise: Exercise, actor: User, body: GradeIn) -> tuple[int, int]:
    """Store a grade and rescore; returns the grade's id and the score revision."""
    with write_transaction():
        exercise = _fresh(exercise)
        row = _add_grade(
            exercise, actor, body.ticket, body.section, body.grade, body.note
        )
        record = scores.rescore(exercise, actor, f"grade {body.ticket}.{body.section}")
        return row.id, record.revision


def clear_integrity(
    exercise: Exercise, actor: User, body: IntegrityIn
) -> tuple[int, int]:
    """Let a stage flagged for integrity review be scored; rescore."""
    with write_transaction():
        exercise = _fresh(exercise)
        row = _add_clearance(exercise, actor, body.stage, body.note)
        record = scores.rescore(exercise, actor, f"integrity clearance {body.stage}")
        return row.id, record.revision


def _add_clearance(
    exercise: Exercise, actor: User, stage: str, note: str
) -> IntegrityClearance:
    record = db.session.get(ScoreRecord, exercise.id)
    document = record.document if record is not None else {}
    flagged = set((document.get("flags") or {}).get("integrity_review") or [])
    if stage not in flagged:
        raise Invalid(
            f"stage {stage} is not flagged for integrity review",
            {"stage": "not flagged"},
        )
    row = IntegrityClearance(
        exercise_id=exercise.id, stage=stage, note=note, cleared_by_id=actor.id
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "review.integrity_clear",
        actor=actor,
        tenant_id=exercise.tenant_id,
        target=exercise,
        detail={"stage": stage},
    )
    return row


# --- corrective actions -------------------------------------------------------------


def _owner(exercise: Exercise, username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.active or not took_part_or_member(user, exercise):
        raise Invalid(
            f"{username!r} is not a member of the exercised team",
            {"owner": "unknown person"},
        )
    return user


def took_part_or_member(user: User, exercise: Exercise) -> bool:
    from socdrill.review.access import is_current_member

    return took_part(user, exercise) or is_current_member(user, exercise.team_id)


def _check_due(exercise: Exercise, due: date) -> None:
    ended = (exercise.ended_at or utcnow()).date()
    if due < ended:
        raise Invalid(
            f"the due date {due} is before the exercise ended ({ended})",
            {"due_date": "before ENDEX"},
        )
    if due > utcnow().date() + LONGEST_PLAN:
        raise Invalid(
            "the due date is more than two years ahead", {"due_date": "too far"}
        )


def add_action(exercise: Exercise, actor: User, body: ActionIn) -> int:
    with write_transaction():
        exercise = _fresh(exercise)
        owner = _owner(exercise, body.owner)
        _check_due(exercise, body.due_date)
        row = CorrectiveAction(
            exercise_id=exercise.id,
            finding=body.finding,
            action=body.action,
            owner_id=owner.id,
            due_date=body.due_date,
            created_by_id=actor.id,
        )
        db.session.add(row)
        db.session.flush()
        audit.record(
            "review.action_create",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=row,
            detail={"exercise": exercise.id, "owner": owner.username},
        )
        return row.id


def update_action(exercise: Exercise, actor: User, body: ActionUpdate) -> int:
    with write_transaction():
        exercise = _fresh(exercise)
        row = db.session.get(CorrectiveAction, body.id)
        if row is None or row.exercise_id != exercise.id:
            raise NotFound("no such corrective action", {"id": "unknown"})
        changed: dict[str, Any] = {}
        if body.action is not None and body.action != row.action:
            row.action = changed["action"] = body.action
        if body.owner is not None:
            owner = _owner(exercise, body.owner)
            if owner.id != row.owner_id:
                row.owner_id = owner.id
                changed["owner"] = owner.username
        if body.due_date is not None and body.due_date != row.due_date:
            _check_due(exercise, body.due_date)
            row.due_date = body.due_date
            changed["due_date"] = body.due_date.isoformat()
        if body.status is not None and body.status != row.status.value:
            row.status = ActionStatus(body.status)
            changed["status"] = body.status
        if changed:
            row.updated_at = utcnow()
            audit.record(
                "review.action_update",
                actor=actor,
                tenant_id=exercise.tenant_id,
                target=row,
                detail={"exercise": exercise.id, "changed": sorted(changed)},
            )
        return row.id


# --- contests ------------------------------------------------------------------------


def contestable_items(document: dict[str, Any] | None, username: str) -> list[str]:
    """What ``username`` may contest: each of their points and attributed stages,
    and the team-level stage records that fed them."""
    if not document:
        return []
    mine = (document.get("individual") or {}).get(username) or {}
    items = [f"{p['kind']} {p['item']}" for p in mine.get("points") or []]
    items += [f"attribution {a['stage']}" for a in mine.get("attribution") or []]
    items += [f"stage {s['stage']}" for s in document.get("stages") or []]
    return list(dict.fromkeys(items))


def contest(exercise: Exercise, actor: User, body: ContestIn) -> int:
    """An analyst contests a point of their own; logged for the team's lead."""
    with write_transaction():
        exercise = _fresh(exercise)
        if not took_part(actor, exercise):
            raise NotFound("no such exercise in your teams")
        record = db.session.get(ScoreRecord, exercise.id)
        if record is None:
            raise Conflict("the exercise has not been scored yet")
        if retention.purge_of(exercise.id) is not None:
            raise Conflict(
                "individual data of this exercise was removed under the retention "
                "policy; there is nothing of yours left to contest"
            )
        allowed = contestable_items(record.document, actor.username)
        if body.item not in allowed:
            raise Invalid(
                f"{body.item!r} is not one of your points or stages",
                {"item": "pick an item from your list"},
            )
        row = Contest(
            exercise_id=exercise.id,
            user_id=actor.id,
            item=body.item,
            reason=body.reason,
        )
        db.session.add(row)
        db.session.flush()
        audit.record(
            "review.contest",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=row,
            detail={"exercise": exercise.id, "item": body.item},
        )
        return row.id


def resolve(
    exercise: Exercise, actor: User, body: ContestResolve
) -> tuple[int, int | None]:
    """A lead decides; an upheld contest may correct an input and rescores."""
    with write_transaction():
        exercise = _fresh(exercise)
        if actor.role != Role.LEAD:
            raise NotFound("no such contest")
        row = db.session.get(Contest, body.id, populate_existing=True)
        if row is None or row.exercise_id != exercise.id:
            raise NotFound("no such contest", {"id": "unknown"})
        if row.status != ContestStatus.OPEN:
            raise Conflict(f"the contest was already {row.status.value}")
        if row.user_id == actor.id:
            raise Conflict("a contest of your own is resolved by another lead")
        correction: dict[str, Any] = {}
        if body.correction is not None:
            c = body.correction
            if c.kind == "grade":
                assert c.ticket and c.section and c.grade  # noqa: S101 - validated
                _add_grade(
                    exercise, actor, c.ticket, c.section, c.grade, body.resolution
                )
            else:
                assert c.stage  # noqa: S101 - validated
                _add_clearance(exercise, actor, c.stage, body.resolution)
            correction = c.model_dump(exclude_none=True)
        row.status = ContestStatus(body.decision)
        row.resolution = body.resolution
        row.correction = correction
        row.resolver_id = actor.id
        row.resolved_at = utcnow()
        revision = None
        if row.status == ContestStatus.UPHELD:
            revision = scores.rescore(
                exercise, actor, f"contest {row.id} upheld"
            ).revision
        audit.record(
            "review.contest_resolve",
            actor=actor,
            tenant_id=exercise.tenant_id,
            target=row,
            detail={
                "exercise": exercise.id,
                "decision": body.decision,
                "correction": correction,
            },
        )
        return row.id, revision


def score(exercise: Exercise, actor: User) -> ScoreRecord:
    """Score (or rescore) the exercise on request."""
    with write_transaction():
        exercise = _fresh(exercise)
        return scores.rescore(exercise, actor, "requested")
