"""Scoring an ended exercise and keeping the answer.

:func:`rescore` builds the scorer's input (the engine's mapping of scenario, labels,
alerts and activity log, plus what the debrief added: evaluator grades, integrity
clearances, the team's history and knowledge base), takes each analyst's skill
states from their previous exercises as priors, runs
:func:`scoring.score_exercise`, and stores the document and the new skill states.
Nothing is kept that could not be computed again from the same rows.

An exercise whose individual data was purged (:mod:`socdrill.review.retention`) is
scored from its pseudonymised log: the team-level sections come out as before, no
per-person section or skill state is stored again, and the cohesion and coverage
measured while the people were known are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

import scoring
from scoring import ScoringInputError, score_exercise
from scoring.model import KbArticle as ScoredArticle
from scoring.model import TeamHistory, TicketGrade
from scoring.skills import Cell, SkillState
from socdrill import audit
from socdrill.console.errors import Conflict
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import (
    Activity,
    Exercise,
    ExerciseState,
    IntegrityClearance,
    KbArticle,
    KbRevision,
    Membership,
    ScoreRecord,
    SkillSnapshot,
    TicketGradeRecord,
    User,
    utcnow,
)
from socdrill.review import retention
from socdrill.review.access import SCORED_JOBS
from socdrill.review.curves import damage_curve

ScoringSource = Callable[[Exercise], scoring.Exercise]
SOURCE_KEY = "socdrill.review.scoring_source"
# Core stability looks at the last four exercises, this one included.
PAST_EXERCISES = 3


def engine_source(exercise: Exercise) -> scoring.Exercise:
    """The engine's mapping of what the platform stored for ``exercise``."""
    from socdrill.engine.delivery import siem_store
    from socdrill.engine.scoring_input import ScoringDataError, scoring_exercise

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return scoring_exercise(exercise, siem_store(app))
    except ScoringDataError as error:
        raise Conflict(str(error)) from None


def set_scoring_source(app: Flask, source: ScoringSource) -> None:
    """Replace where the scorer's input comes from (a replay of recorded runs, or a
    test that builds ``scoring.model`` values directly)."""
    app.extensions[SOURCE_KEY] = source


def _source() -> ScoringSource:
    source: ScoringSource = current_app.extensions.get(SOURCE_KEY, engine_source)
    return source


# --- the inputs the debrief adds --------------------------------------------------


def grades_of(exercise: Exercise) -> tuple[TicketGrade, ...]:
    """Evaluator grades in the order given: the scorer keeps the last per section."""
    rows = db.session.execute(
        sa.select(TicketGradeRecord, User.username)
        .outerjoin(User, User.id == TicketGradeRecord.grader_id)
        .where(TicketGradeRecord.exercise_id == exercise.id)
        .order_by(TicketGradeRecord.graded_at, TicketGradeRecord.id)
    ).all()
    return tuple(
        TicketGrade(row.ticket, row.section, row.grade, grader or "")
        for row, grader in rows
    )


def cleared_stages(exercise: Exercise) -> frozenset[str]:
    return frozenset(
        db.session.scalars(
            sa.select(IntegrityClearance.stage).where(
                IntegrityClearance.exercise_id == exercise.id
            )
        )
    )


def _participants(exercise_id: int) -> tuple[str, ...]:
    return tuple(
        sorted(
            db.session.scalars(
                sa.select(User.username)
                .join(Activity, Activity.actor_id == User.id)
                .where(Activity.exercise_id == exercise_id)
                .distinct()
            )
        )
    )


def team_history(exercise: Exercise) -> TeamHistory:
    """The roster 90 days before ENDEX and who took part in the previous drills."""
    ended = exercise.ended_at or utcnow()
    then = ended - timedelta(days=90)
    roster = db.session.scalars(
        sa.select(User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.team_id == exercise.team_id,
            Membership.job.in_(SCORED_JOBS),
            Membership.joined_at <= then,
            sa.or_(Membership.left_at.is_(None), Membership.left_at > then),
        )
        .distinct()
    ).all()
    previous = db.session.scalars(
        sa.select(Exercise.id)
        .where(
            Exercise.team_id == exercise.team_id,
            Exercise.id != exercise.id,
            Exercise.ended_at.is_not(None),
            Exercise.ended_at < ended,
        )
        .order_by(Exercise.ended_at.desc())
        .limit(PAST_EXERCISES)
    ).all()
    past = tuple(_participants(i) for i in reversed(previous))
    return TeamHistory(roster_90_days_ago=tuple(sorted(roster)), past_exercises=past)


def kb_articles(exercise: Exercise) -> tuple[ScoredArticle, ...]:
    """The team's articles with who updated them when (knowledge sharing)."""
    rows = db.session.execute(
        sa.select(KbArticle.id, KbArticle.scope, User.username, KbRevision.at)
        .join(KbRevision, KbRevision.article_id == KbArticle.id)
        .join(User, User.id == KbRevision.editor_id)
        .where(KbArticle.team_id == exercise.team_id)
        .order_by(KbArticle.id, KbRevision.version)
    ).all()
    articles: dict[int, tuple[str, list[tuple[str, float]]]] = {}
    for article_id, scope, username, at in rows:
        articles.setdefault(article_id, (scope, []))[1].append(
            (username, at.timestamp())
        )
    return tuple(
        ScoredArticle(str(i), scope, tuple(updates))
        for i, (scope, updates) in articles.items()
    )


def scorer_input(exercise: Exercise) -> scoring.Exercise:
    """Everything ``score_exercise`` reads about ``exercise``."""
    base = _source()(exercise)
    return dataclasses.replace(
        base,
        ticket_grades=(*base.ticket_grades, *grades_of(exercise)),
        integrity_cleared=base.integrity_cleared | cleared_stages(exercise),
        team_history=base.team_history or team_history(exercise),
        kb_articles=base.kb_articles or kb_articles(exercise),
    )


# --- skill states ---------------------------------------------------------------


def prior_states(exercise: Exercise) -> dict[str, dict[Cell, SkillState]]:
    """Each person's newest skill cells from exercises that ended before this one."""
    ended = exercise.ended_at or utcnow()
    rows = db.session.execute(
        sa.select(SkillSnapshot, User.username)
        .join(User, User.id == SkillSnapshot.user_id)
        .join(Exercise, Exercise.id == SkillSnapshot.exercise_id)
        .where(Exercise.id != exercise.id, Exercise.ended_at < ended)
        .order_by(Exercise.ended_at, SkillSnapshot.id)
    ).all()
    states: dict[str, dict[Cell, SkillState]] = {}
    for row, username in rows:  # oldest first: the newest state wins
        states.setdefault(username, {})[(row.scope, row.tactic)] = SkillState(
            row.theta, row.evidence, row.updated_at
        )
    return states


def _store_states(exercise: Exercise, document: dict[str, Any]) -> None:
    db.session.execute(
        sa.delete(SkillSnapshot).where(SkillSnapshot.exercise_id == exercise.id)
    )
    people = document.get("individual") or {}
    ids = dict(
        db.session.execute(
            sa.select(User.username, User.id).where(User.username.in_(list(people)))
        ).all()
    )
    for username, section in people.items():
        user_id = ids.get(username)
        if user_id is None:
            continue  # an actor without an account (the system): nothing to keep
        for cell in section.get("state", []):
            db.session.add(
                SkillSnapshot(
                    exercise_id=exercise.id,
                    user_id=user_id,
                    scope=cell["scope"],
                    tactic=cell["tactic"],
                    theta=cell["theta"],
                    evidence=cell["n"],
                    updated_at=cell["updated_at"],
                )
            )


# --- scoring and storing ----------------------------------------------------------


def compute(exercise: Exercise) -> tuple[dict[str, Any], dict[str, Any]]:
    """The score document of ``exercise`` from its stored inputs, and the curves
    drawn beside it (nothing saved)."""
    if exercise.state not in (ExerciseState.ENDED, ExerciseState.REVIEWED):
        raise Conflict(
            f"exercise {exercise.id} is {exercise.state.value}: score after ENDEX"
        )
    scored = scorer_input(exercise)
    # A purged exercise gets no per-person section: nobody's skills are its priors.
    purged = retention.purge_of(exercise.id) is not None
    priors = {} if purged else prior_states(exercise)
    try:
        document = score_exercise(scored, skill_states=priors)
    except ScoringInputError as error:
        raise Conflict(f"the recorded exercise cannot be scored: {error}") from None
    return document, {"damage": damage_curve(scored, document)}


def rescore(
    exercise: Exercise,
    actor: User | None,
    reason: str,
    *,
    actor_name: str | None = None,
    chain: bool = True,
) -> ScoreRecord:
    """Score ``exercise`` again and keep the result (the caller's transaction).

    ``actor_name`` names an actor without an account in the audit row ("system").
    The skill states this exercise leaves are the priors of its participants' later
    exercises, so with ``chain`` those that were scored are scored again, oldest
    first, each from the states the one before it left.
    """
    people = _skill_holders(exercise.id)
    document, curves = compute(exercise)
    record = db.session.get(ScoreRecord, exercise.id)
    purged = retention.purge_of(exercise.id) is not None
    if purged:
        document, _ = retention.team_document(
            document, record.document if record is not None else None
        )
    if record is None:
        record = ScoreRecord(exercise_id=exercise.id, revision=0)
        db.session.add(record)
    record.document = document
    record.curves = curves
    record.spec_version = str(document["scoring_spec_version"])
    record.tes = (document.get("tes") or {}).get("tes")
    record.announced = exercise.announced
    record.revision += 1
    record.computed_at = utcnow()
    record.computed_by_id = actor.id if actor is not None else None
    if not purged:
        _store_states(exercise, document)
    audit.record(
        "review.score",
        actor=actor,
        actor_name=actor_name,
        tenant_id=exercise.tenant_id,
        target=exercise,
        detail={"reason": reason, "revision": record.revision, "tes": record.tes},
    )
    if chain:
        for later in later_scored(exercise, people | _skill_holders(exercise.id)):
            rescore(
                later,
                actor,
                f"skill priors changed: exercise {exercise.id} was scored again",
                actor_name=actor_name,
                chain=False,
            )
    return record


def _skill_holders(exercise_id: int) -> set[int]:
    db.session.flush()
    return set(
        db.session.scalars(
            sa.select(SkillSnapshot.user_id).where(
                SkillSnapshot.exercise_id == exercise_id
            )
        ).all()
    )


def later_scored(exercise: Exercise, people: set[int]) -> list[Exercise]:
    """Scored exercises that ended after ``exercise`` in which any of ``people``
    holds skill states, oldest first (purged ones keep no states: left out)."""
    if not people or exercise.ended_at is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Exercise)
            .join(ScoreRecord, ScoreRecord.exercise_id == Exercise.id)
            .where(
                Exercise.id != exercise.id,
                Exercise.ended_at > exercise.ended_at,
                Exercise.id.in_(
                    sa.select(SkillSnapshot.exercise_id).where(
                        SkillSnapshot.user_id.in_(people)
                    )
                ),
            )
            .order_by(Exercise.ended_at, Exercise.id)
        ).all()
    )


def rescore_now(exercise_id: int, actor: User | None, reason: str) -> ScoreRecord:
    """:func:`rescore` in its own write transaction."""
    with write_transaction():
        exercise = db.session.get(Exercise, exercise_id)
        if exercise is None:
            raise Conflict(f"exercise {exercise_id} does not exist")
        return rescore(exercise, actor, reason)


def stored(exercise: Exercise) -> ScoreRecord | None:
    return db.session.get(ScoreRecord, exercise.id)
