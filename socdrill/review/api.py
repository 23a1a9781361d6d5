"""The review JSON API (``/api/v1/review``): the same data as the pages.

Operations are declared with ``socdrill.api.operations.operation`` so they appear in
the generated OpenAPI document with their pydantic schemas. Answers carrying skill,
cohesion or HR data are audited and never cached, exactly like the pages.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from socdrill.api.errors import register as register_errors
from socdrill.api.operations import operation
from socdrill.console.errors import NotFound
from socdrill.console.scope import me
from socdrill.models import Exercise
from socdrill.review import api_bp, exports, hr, mine, records, team, tuning
from socdrill.review.access import exercise_for_review, team_for
from socdrill.review.once import once
from socdrill.review.schemas import (
    ActionIn,
    ActionOut,
    ActionUpdate,
    ActivityOut,
    ContestIn,
    ContestOut,
    ContestResolve,
    DebriefOut,
    ExerciseRef,
    ExportQuery,
    GradeIn,
    GradeOut,
    HrProfileOut,
    HrRequestIn,
    HrTeamOut,
    HrViewOut,
    IntegrityIn,
    MyExerciseOut,
    MyViewOut,
    RuleCountsOut,
    SavedResult,
    ScoreResult,
    TableOut,
    TeamViewOut,
    TuningIn,
    TuningOut,
)
from socdrill.review.tables import Table
from socdrill.review.views import SENSITIVE_TABLES, audit_document_read, debrief_for

TAG = "review"

register_errors(api_bp)


@api_bp.after_request
def _never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def table_out(table: Table) -> TableOut:
    return TableOut.model_validate(table.as_json())


def exercise_ref(exercise: Exercise) -> ExerciseRef:
    return ExerciseRef(
        id=exercise.id,
        name=exercise.name,
        state=exercise.state.value,
        announced=exercise.announced,
        scenario_id=exercise.scenario_id,
        team=exercise.team.name,
        ended_at=exercise.ended_at,
    )


def _contests(rows: list[dict[str, Any]]) -> list[ContestOut]:
    return [ContestOut.model_validate(row) for row in rows]


@operation(
    api_bp,
    "/exercises/<int:exercise_id>",
    "GET",
    summary="The debrief of an exercise, cut for you",
    tag=TAG,
    response=DebriefOut,
    errors=(409,),
)
def debrief(exercise_id: int) -> DebriefOut:
    """Stages against SLA, KPIs, triage, damage, what was missed, the after-action
    seeds, grades, corrective actions and contests. Analysts see it after ENDEX with
    only their own individual section and no cohesion; managers see no individual
    section."""
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    view = debrief_for(exercise, user, aud)
    if view.document is not None:
        audit_document_read(user, exercise, view.document, "debrief API")
    return DebriefOut(
        exercise=exercise_ref(exercise),
        audience=aud.role,
        scored=view.record is not None,
        revision=view.record.revision if view.record else None,
        computed_at=view.record.computed_at if view.record else None,
        document=view.document,
        tables=[table_out(x) for x in view.tables],
        damage_curve=view.curve,
        grades=[GradeOut.model_validate(g) for g in view.grades],
        corrective_actions=[ActionOut.model_validate(a) for a in view.actions],
        contests=_contests(view.contests),
        questions=view.questions,
        individual_data_purged_at=view.purge.purged_at if view.purge else None,
        auto_score_error=(
            view.auto_score.error
            if view.record is None and view.auto_score and view.auto_score.error
            else None
        ),
    )


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/export",
    "GET",
    summary="One debrief table as CSV or JSON",
    tag=TAG,
    query=ExportQuery,
    errors=(409,),
)
def export(exercise_id: int, query: ExportQuery) -> Response:
    """The file carries the [EXERCISE] marker and the X-Exercise-Id header."""
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    view = debrief_for(exercise, user, aud)
    table = exports.pick(view.tables, query.table)
    if view.document is not None and table.name in SENSITIVE_TABLES:
        audit_document_read(user, exercise, view.document, f"export {table.name}")
    return exports.respond(
        table, query.format, f"exercise-{exercise.id}", exercise_id=exercise.id
    )


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/score",
    "POST",
    summary="Score the ended exercise again from its stored inputs",
    tag=TAG,
    response=ScoreResult,
    errors=(409,),
)
def score(exercise_id: int) -> ScoreResult:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)

    def action() -> ScoreResult:
        record = records.score(exercise, user)
        return ScoreResult(
            message=f"scored (revision {record.revision})",
            revision=record.revision,
            tes=record.tes,
        )

    return once(user, "score", ScoreResult, action)


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/grades",
    "POST",
    summary="Grade a free-text ticket section (P/S/M/U); rescores",
    tag=TAG,
    body=GradeIn,
    response=SavedResult,
    status=201,
    errors=(409,),
)
def grade(exercise_id: int, body: GradeIn) -> SavedResult:
    """A later grade of the same section replaces the earlier one in the score;
    both stay on record."""
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)

    def action() -> SavedResult:
        grade_id, revision = records.grade(exercise, user, body)
        return SavedResult(message="grade stored", id=grade_id, revision=revision)

    return once(user, "grade", SavedResult, action)


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/integrity",
    "POST",
    summary="Clear a stage flagged for integrity review; rescores",
    tag=TAG,
    body=IntegrityIn,
    response=SavedResult,
    status=201,
    errors=(409,),
)
def integrity(exercise_id: int, body: IntegrityIn) -> SavedResult:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)

    def action() -> SavedResult:
        row_id, revision = records.clear_integrity(exercise, user, body)
        return SavedResult(message="stage cleared", id=row_id, revision=revision)

    return once(user, "integrity", SavedResult, action)


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/actions",
    "POST",
    summary="Add a corrective action (owner, due date)",
    tag=TAG,
    body=ActionIn,
    response=SavedResult,
    status=201,
    errors=(409,),
)
def action_create(exercise_id: int, body: ActionIn) -> SavedResult:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    return once(
        user,
        "action_create",
        SavedResult,
        lambda: SavedResult(
            message="corrective action added",
            id=records.add_action(exercise, user, body),
        ),
    )


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/actions",
    "PATCH",
    summary="Change a corrective action (named by id in the body)",
    tag=TAG,
    body=ActionUpdate,
    response=SavedResult,
    errors=(409,),
)
def action_update(exercise_id: int, body: ActionUpdate) -> SavedResult:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    return SavedResult(
        message="corrective action saved",
        id=records.update_action(exercise, user, body),
    )


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/contests",
    "POST",
    summary="Contest one of your points (logged for the team lead)",
    tag=TAG,
    body=ContestIn,
    response=SavedResult,
    status=201,
    errors=(409,),
)
def contest(exercise_id: int, body: ContestIn) -> SavedResult:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    return once(
        user,
        "contest",
        SavedResult,
        lambda: SavedResult(
            message="contest logged", id=records.contest(exercise, user, body)
        ),
    )


@operation(
    api_bp,
    "/exercises/<int:exercise_id>/contests/resolve",
    "POST",
    summary="Resolve a contest (team lead); an upheld one may correct the score",
    tag=TAG,
    body=ContestResolve,
    response=SavedResult,
    errors=(409,),
)
def contest_resolve(exercise_id: int, body: ContestResolve) -> SavedResult:
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    if not aud.individual:
        raise NotFound("no such contest")

    def action() -> SavedResult:
        contest_id, revision = records.resolve(exercise, user, body)
        return SavedResult(message="contest resolved", id=contest_id, revision=revision)

    return once(user, "contest_resolve", SavedResult, action)


@operation(
    api_bp,
    "/me",
    "GET",
    summary="Your own timeline, points with justification, profile and contests",
    tag=TAG,
    response=MyViewOut,
)
def my_view() -> MyViewOut:
    user = me()
    exercises, skills = mine.my_view(user, "my view API")
    return MyViewOut(
        person=user.username,
        exercises=[
            MyExerciseOut(
                exercise=exercise_ref(item.exercise),
                scored=item.scored,
                timeline=[ActivityOut.model_validate(a) for a in item.timeline],
                attribution=item.attribution,
                points=table_out(item.points) if item.points else None,
                contests=_contests(item.contests),
            )
            for item in exercises
        ],
        skills=table_out(skills),
    )


@operation(
    api_bp,
    "/teams/<int:team_id>",
    "GET",
    summary="Team view (lead): trends, readiness gap, skill matrix, coverage, cohesion",
    tag=TAG,
    response=TeamViewOut,
)
def team_view(team_id: int) -> TeamViewOut:
    user = me()
    view = team.team_view(team_for(team_id, user), user, "team API")
    return TeamViewOut(
        team=view.team.name,
        people_in_scope=view.people,
        tables=[table_out(x) for x in view.tables],
        readiness_gap=view.readiness,
        cohesion_headline=view.headline,
    )


@operation(
    api_bp,
    "/hr",
    "GET",
    summary="HR view: team aggregates (five people or more) and coverage counts",
    tag=TAG,
    response=HrViewOut,
)
def hr_view() -> HrViewOut:
    """Never an individual leaderboard."""
    teams = hr.hr_view(me(), "HR API")
    return HrViewOut(
        minimum=hr.AGGREGATION_MIN,
        teams=[
            HrTeamOut(
                team=item.team.name,
                people_in_scope=item.people,
                aggregated=item.aggregated,
                reason=item.reason,
                tables=[table_out(x) for x in item.tables],
            )
            for item in teams
        ],
    )


@operation(
    api_bp,
    "/hr/requests",
    "POST",
    summary="A justified HR request for one person's profile (audited)",
    tag=TAG,
    body=HrRequestIn,
    response=HrProfileOut,
    errors=(404,),
)
def hr_request(body: HrRequestIn) -> HrProfileOut:
    """Refused for teams below five people in scope; the request, its reason and
    its named reviewer are written to the audit log before the profile is sent."""
    subject, table = hr.hr_profile(me(), body)
    return HrProfileOut(
        person=subject.username,
        reason=body.reason,
        reviewer=body.reviewer,
        skills=table_out(table),
    )


@operation(
    api_bp,
    "/rules",
    "GET",
    summary="Alerts per rule in recorded exercises, by ground truth",
    tag=TAG,
    response=RuleCountsOut,
)
def rule_counts() -> RuleCountsOut:
    user = me()
    recorded = tuning.recorded_exercises(user)
    return RuleCountsOut(
        exercises=len(recorded),
        rules=table_out(tuning.rule_counts(tuning.siem(), recorded)),
    )


@operation(
    api_bp,
    "/rules/try",
    "POST",
    summary="Counts of a rule before and after an exception (nothing is saved)",
    tag=TAG,
    body=TuningIn,
    response=TuningOut,
    errors=(404,),
)
def rule_try(body: TuningIn) -> TuningOut:
    rule, exception, before, after = tuning.try_exception(
        me(), body.rule_id, body.exception
    )
    return TuningOut(
        rule_id=rule.id,
        exception=exception,
        before=before.as_dict(),
        after=after.as_dict(),
    )
