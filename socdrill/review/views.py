"""What a debrief shows one reader, as plain data for the page, the API and exports.

:func:`debrief_for` cuts the stored score document with ``scoring.hr.view_for`` for
the reader's role (an analyst keeps only their own individual section, and no
cohesion at all; a manager no individual section), builds every table from the cut
document, and writes an audit row when the answer carries individual or cohesion
data.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from scoring.hr import view_for
from scoring.model import TICKET_TEXT_FIELDS
from simulator.scenario import ScenarioError, load_scenario
from socdrill import audit
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import (
    Contest,
    CorrectiveAction,
    Exercise,
    ScoreRecord,
    TicketGradeRecord,
    User,
)
from socdrill.models.review import AutoScoreAttempt, RetentionPurge
from socdrill.review import tables as t
from socdrill.review.access import Audience
from socdrill.review.records import contestable_items, known_tickets

MARKER = "[EXERCISE]"
TIMELINE_KINDS = (
    ("t_inj", "inject"),
    ("t_alert", "first alert"),
    ("t_ack", "acknowledged"),
    ("t_det", "detected"),
    ("t_cont", "contained"),
    ("t_rep", "reported"),
)
# Document sections whose reads are audited (SECURITY.md: skill, cohesion, HR).
SENSITIVE = ("individual", "cohesion", "coverage")
# Tables built from those sections (or naming people): exporting one is audited.
SENSITIVE_TABLES = frozenset({"points", "skills", "cohesion", "coverage", "contests"})


def cut(document: Mapping[str, Any], aud: Audience) -> dict[str, Any]:
    """``document`` without what ``aud`` may not see."""
    out = view_for(document, aud.role, viewer=aud.viewer)
    if aud.role == "analyst":
        # Analysts never receive a cohesion field: cohesion is for the lead.
        out.pop("cohesion", None)
    return out


def audit_read(
    user: User,
    surface: str,
    *,
    exercise: Exercise | None = None,
    tenant_id: int | None = None,
    sections: list[str],
    subjects: list[str],
    extra: dict[str, Any] | None = None,
) -> None:
    """One audit row for a read of individual, cohesion or HR data."""
    with write_transaction():
        audit.record(
            "review.read",
            actor=db.session.merge(user),
            tenant_id=tenant_id if exercise is None else exercise.tenant_id,
            target=exercise,
            detail={
                "surface": surface,
                "sections": sections,
                "subjects": sorted(subjects),
                **(extra or {}),
            },
        )


def audit_document_read(
    user: User, exercise: Exercise, document: Mapping[str, Any], surface: str
) -> None:
    """Audit a read of ``document`` (already cut) if it carries sensitive data."""
    sections = [s for s in SENSITIVE if document.get(s)]
    if not sections:
        return
    subjects = list((document.get("individual") or {}).keys())
    audit_read(user, surface, exercise=exercise, sections=sections, subjects=subjects)


def timeline_chart(document: Mapping[str, Any]) -> dict[str, Any]:
    """Per-stage instants for the timeline chart (active minutes)."""
    stages = [s["stage"] for s in document.get("stages") or []]
    series = []
    for key, label in TIMELINE_KINDS:
        points = [
            [t.minutes(s[key]), index]
            for index, s in enumerate(document.get("stages") or [])
            if s.get(key) is not None
        ]
        series.append({"label": label, "points": points})
    t_end = (document.get("exercise") or {}).get("t_end")
    return {"stages": stages, "series": series, "t_end": t.minutes(t_end)}


def questions_of(exercise: Exercise) -> list[str]:
    """The scenario's lessons-learned questions (none if its snapshot is unusable)."""
    try:
        scenario = load_scenario(exercise.scenario_yaml)
    except (ScenarioError, ValueError):
        return []
    return [str(q) for q in scenario.debrief.questions]


def grade_rows(exercise: Exercise) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(TicketGradeRecord, User.username)
        .outerjoin(User, User.id == TicketGradeRecord.grader_id)
        .where(TicketGradeRecord.exercise_id == exercise.id)
        .order_by(TicketGradeRecord.graded_at, TicketGradeRecord.id)
    ).all()
    return [
        {
            "id": row.id,
            "ticket": row.ticket,
            "section": row.section,
            "grade": row.grade,
            "note": row.note,
            "grader": grader,
            "graded_at": row.graded_at,
        }
        for row, grader in rows
    ]


def action_rows(exercise: Exercise) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(CorrectiveAction, User.username)
        .outerjoin(User, User.id == CorrectiveAction.owner_id)
        .where(CorrectiveAction.exercise_id == exercise.id)
        .order_by(CorrectiveAction.due_date, CorrectiveAction.id)
    ).all()
    return [
        {
            "id": row.id,
            "finding": row.finding,
            "action": row.action,
            "owner": owner,
            "due_date": row.due_date,
            "status": row.status.value,
            "updated_at": row.updated_at,
        }
        for row, owner in rows
    ]


def contest_rows(exercise: Exercise, only_user: User | None) -> list[dict[str, Any]]:
    statement = sa.select(Contest).where(Contest.exercise_id == exercise.id)
    if only_user is not None:
        statement = statement.where(Contest.user_id == only_user.id)
    return [
        {
            "id": row.id,
            "person": row.user.username,
            "item": row.item,
            "reason": row.reason,
            "status": row.status.value,
            "resolution": row.resolution,
            "correction": dict(row.correction or {}),
            "resolver": row.resolver.username if row.resolver else None,
            "created_at": row.created_at,
            "resolved_at": row.resolved_at,
        }
        for row in db.session.scalars(statement.order_by(Contest.id))
    ]


def _record_tables(
    grades: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    contests: list[dict[str, Any]] | None,
) -> list[t.Table]:
    out = [
        t.Table(
            "grades",
            "Evaluator grades of free-text sections (P/S/M/U)",
            [
                ("ticket", "Ticket"),
                ("section", "Section"),
                ("grade", "Grade"),
                ("note", "Note"),
                ("grader", "Evaluator"),
                ("graded_at", "Graded at"),
            ],
            grades,
        ),
        t.Table(
            "corrective_actions",
            "Improvement plan: corrective actions",
            [
                ("action", "Corrective action"),
                ("finding", "Answers"),
                ("owner", "Owner"),
                ("due_date", "Due"),
                ("status", "Status"),
            ],
            actions,
        ),
    ]
    if contests is not None:
        out.append(
            t.Table(
                "contests",
                "Contested points",
                [
                    ("person", "Person"),
                    ("item", "Item"),
                    ("reason", "Reason"),
                    ("status", "Status"),
                    ("resolution", "Resolution"),
                    ("resolver", "Resolved by"),
                ],
                contests,
            )
        )
    return out


@dataclass
class Debrief:
    """Everything one reader's debrief shows."""

    exercise: Exercise
    audience: Audience
    record: ScoreRecord | None
    document: dict[str, Any] | None
    tables: list[t.Table] = field(default_factory=list)
    chart: dict[str, Any] = field(default_factory=dict)
    curve: dict[str, list[float]] | None = None
    grades: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    contests: list[dict[str, Any]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    contestable: list[str] = field(default_factory=list)
    integrity_review: list[str] = field(default_factory=list)
    # Individual data removed under the retention policy (when, under which term).
    purge: RetentionPurge | None = None
    # The engine's automatic scoring after ENDEX (its error if it failed).
    auto_score: AutoScoreAttempt | None = None

    def table(self, name: str) -> t.Table | None:
        return next((x for x in self.tables if x.name == name), None)

    @property
    def sections(self) -> tuple[str, ...]:
        return TICKET_TEXT_FIELDS


def debrief_for(exercise: Exercise, user: User, aud: Audience) -> Debrief:
    """Build the debrief of ``exercise`` for ``user`` (no audit row; see
    :func:`audit_document_read`)."""
    record = db.session.get(ScoreRecord, exercise.id)
    document = cut(record.document, aud) if record is not None else None
    sees_contests = aud.individual or aud.role == "analyst"
    contests = (
        contest_rows(exercise, None if aud.individual else user)
        if sees_contests
        else None
    )
    result = Debrief(
        exercise=exercise,
        audience=aud,
        record=record,
        document=document,
        grades=grade_rows(exercise),
        actions=action_rows(exercise),
        contests=contests or [],
        questions=questions_of(exercise),
        tickets=known_tickets(exercise),
        purge=db.session.get(RetentionPurge, exercise.id),
        auto_score=db.session.get(AutoScoreAttempt, exercise.id),
    )
    if document is not None:
        strengths, areas = t.aar_tables(document)
        result.tables = [
            t.components_table(document),
            t.stages_table(document),
            t.kpis_table(document),
            t.triage_table(document),
            t.damage_table(document),
            t.crisis_table(document),
            t.missed_table(document),
            strengths,
            areas,
        ]
        for optional in (
            t.cohesion_table(document),
            t.coverage_table(document.get("coverage")),
        ):
            if optional is not None:
                result.tables.append(optional)
        individual = document.get("individual") or {}
        if individual:
            result.tables += [t.points_table(individual), t.skills_table(individual)]
        result.chart = timeline_chart(document)
        result.curve = copy.deepcopy((record.curves or {}).get("damage"))  # type: ignore[union-attr]
        result.integrity_review = list(
            (document.get("flags") or {}).get("integrity_review") or []
        )
        if aud.viewer and aud.role == "analyst":
            result.contestable = contestable_items(document, aud.viewer)
    result.tables += _record_tables(result.grades, result.actions, contests)
    return result
