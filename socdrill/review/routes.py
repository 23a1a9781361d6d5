"""Review pages: debrief, after-action report, exports, my view, team, HR, rules.

Forms post to these routes with the CSRF token; input is validated by the same
pydantic models as the JSON API, and a refusal flashes what was wrong and changes
nothing. Every page that shows skill, cohesion or HR data writes an audit row and
is never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ValidationError
from werkzeug.wrappers import Response as WerkzeugResponse

from socdrill.api.errors import fields_of
from socdrill.console.errors import Conflict, ConsoleError
from socdrill.console.scope import me, team_members, teams_of
from socdrill.extensions import db
from socdrill.models import Exercise, Role, User
from socdrill.review import bp, exports, hr, mine, records, team, tuning
from socdrill.review.access import exercise_for_review, team_for
from socdrill.review.schemas import (
    ActionIn,
    ActionUpdate,
    ContestIn,
    ContestResolve,
    ExportQuery,
    GradeIn,
    HrRequestIn,
    IntegrityIn,
    TuningIn,
)
from socdrill.review.tables import GRADE_WORDS
from socdrill.review.views import SENSITIVE_TABLES, audit_document_read, debrief_for
from socdrill.tenancy import visible_exercises


@bp.after_request
def _never_cache(response: Response) -> Response:
    # Skill, cohesion and HR data must not stay in any cache (SECURITY.md).
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ConsoleError)
def _refused(error: ConsoleError) -> Any:
    if request.method != "POST":
        return render_template(
            "errors/error.html", status=error.status, message=error.message
        ), error.status
    flash(f"Nothing changed: {error.message}", "error")
    return redirect(_back(), code=303)


def _back() -> str:
    exercise_id = (request.view_args or {}).get("exercise_id")
    if exercise_id is not None:
        return url_for("review.debrief", exercise_id=exercise_id)
    if request.endpoint and request.endpoint.startswith("review.hr"):
        return url_for("review.hr")
    if request.endpoint and request.endpoint.startswith("review.rules"):
        return url_for("review.rules")
    return url_for("review.index")


def _form(model: type[BaseModel], values: dict[str, Any] | None = None) -> Any:
    """The posted form as ``model``; a ValidationError becomes a flashed refusal."""
    data = values
    if data is None:
        data = {
            key: value
            for key, value in request.form.items()
            if key != "csrf_token" and value.strip() != ""
        }
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{k}: {v}" for k, v in fields_of(error).items())
        raise _FormError(problems) from None


class _FormError(ConsoleError):
    status = 422
    code = "invalid"


def _done(message: str) -> WerkzeugResponse:
    flash(message, "success")
    return redirect(_back(), code=303)


# --- index and debrief --------------------------------------------------------


@bp.get("/")
def index() -> str:
    """Exercises whose debrief the reader may open."""
    user = me()
    exercises = []
    if user.role != Role.HR:
        for exercise in visible_exercises_for_review(user):
            try:
                exercise_for_review(exercise.id, user)
            except ConsoleError:
                continue
            exercises.append(exercise)
    return render_template(
        "review/index.html",
        exercises=exercises,
        teams=teams_of(user) if user.role in (Role.LEAD, Role.ADMIN) else [],
    )


def visible_exercises_for_review(user: User) -> list[Exercise]:
    """Ended exercises in scope; control and leads also see earlier states."""
    return [
        e
        for e in db.session.scalars(visible_exercises(user)).all()
        if e.finished or user.role in (Role.ADMIN, Role.MANAGER, Role.LEAD)
    ]


@bp.get("/exercises/<int:exercise_id>")
def debrief(exercise_id: int) -> str:
    """The debrief of one exercise, cut for the reader."""
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    view = debrief_for(exercise, user, aud)
    if view.document is not None:
        audit_document_read(user, exercise, view.document, "debrief page")
    return render_template(
        "review/debrief.html",
        view=view,
        grade_words=GRADE_WORDS,
        owners=team_members(exercise.team),
    )


@bp.get("/exercises/<int:exercise_id>/report")
def report(exercise_id: int) -> str:
    """The printable after-action report and improvement plan."""
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    view = debrief_for(exercise, user, aud)
    if view.document is None:
        raise Conflict("the exercise has not been scored yet")
    audit_document_read(user, exercise, view.document, "after-action report")
    return render_template("review/report.html", view=view)


@bp.get("/exercises/<int:exercise_id>/export")
def export(exercise_id: int) -> Response:
    """One debrief table as CSV or JSON (``?table=stages&format=csv``)."""
    query = _form(ExportQuery, request.args.to_dict())
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    view = debrief_for(exercise, user, aud)
    table = exports.pick(view.tables, query.table)
    if view.document is not None and table.name in SENSITIVE_TABLES:
        audit_document_read(user, exercise, view.document, f"export {table.name}")
    return exports.respond(
        table, query.format, f"exercise-{exercise.id}", exercise_id=exercise.id
    )


@bp.post("/exercises/<int:exercise_id>/score")
def score(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    record = records.score(exercise, user)
    return _done(f"Scored (revision {record.revision}).")


@bp.post("/exercises/<int:exercise_id>/grades")
def grade(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    body = _form(GradeIn)
    _, revision = records.grade(exercise, user, body)
    return _done(
        f"Grade {body.grade} stored for {body.ticket} {body.section}; "
        f"the exercise was scored again (revision {revision})."
    )


@bp.post("/exercises/<int:exercise_id>/integrity")
def integrity(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    body = _form(IntegrityIn)
    _, revision = records.clear_integrity(exercise, user, body)
    return _done(f"Stage {body.stage} cleared and scored (revision {revision}).")


@bp.post("/exercises/<int:exercise_id>/actions")
def action_create(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    records.add_action(exercise, user, _form(ActionIn))
    return _done("Corrective action added to the improvement plan.")


@bp.post("/exercises/<int:exercise_id>/actions/update")
def action_update(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    records.update_action(exercise, user, _form(ActionUpdate))
    return _done("Corrective action saved.")


@bp.post("/exercises/<int:exercise_id>/contests")
def contest(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, _ = exercise_for_review(exercise_id, user)
    records.contest(exercise, user, _form(ContestIn))
    flash("Your contest is logged; the team lead will resolve it.", "success")
    return redirect(url_for("review.mine"), code=303)


@bp.post("/exercises/<int:exercise_id>/contests/resolve")
def contest_resolve(exercise_id: int) -> WerkzeugResponse:
    user = me()
    exercise, aud = exercise_for_review(exercise_id, user)
    if not aud.individual:
        abort(404)
    data = {
        key: value
        for key, value in request.form.items()
        if key != "csrf_token" and value.strip() != ""
    }
    correction = {
        key.removeprefix("correction_"): data.pop(key)
        for key in list(data)
        if key.startswith("correction_")
    }
    if correction.get("kind"):
        data["correction"] = correction
    _, revision = records.resolve(exercise, user, _form(ContestResolve, data))
    suffix = f"; scored again (revision {revision})" if revision else ""
    return _done(f"Contest resolved{suffix}.")


# --- my view, team, HR --------------------------------------------------------


@bp.get("/me", endpoint="mine")
def mine_page() -> str:
    """My own timeline, points with their justification, profile and contests."""
    user = me()
    exercises, skills = mine.my_view(user, "my view page")
    return render_template("review/mine.html", exercises=exercises, skills=skills)


@bp.get("/teams/<int:team_id>", endpoint="team")
def team_page(team_id: int) -> str:
    user = me()
    view = team.team_view(team_for(team_id, user), user, "team page")
    return render_template("review/team.html", view=view)


@bp.get("/teams/<int:team_id>/export")
def team_export(team_id: int) -> Response:
    query = _form(ExportQuery, request.args.to_dict())
    user = me()
    view = team.team_view(team_for(team_id, user), user, "team export")
    table = exports.pick(view.tables, query.table)
    return exports.respond(table, query.format, f"team-{view.team.id}")


@bp.get("/hr", endpoint="hr")
def hr_page() -> str:
    """Team aggregates and coverage counts; never an individual leaderboard."""
    teams = hr.hr_view(me(), "HR page")
    return render_template("review/hr.html", teams=teams, profile=None)


@bp.get("/hr/export")
def hr_export() -> Response:
    query = _form(ExportQuery, request.args.to_dict())
    teams = hr.hr_view(me(), "HR export")
    tables = [
        table.__class__(
            f"{table.name}_team_{item.team.id}", table.title, table.columns, table.rows
        )
        for item in teams
        for table in item.tables
    ]
    return exports.respond(exports.pick(tables, query.table), query.format, "hr")


@bp.post("/hr/request")
def hr_request() -> str:
    """A justified request for one person's profile: logged before it is shown."""
    user = me()
    body = _form(HrRequestIn)
    subject, table = hr.hr_profile(user, body)
    teams = hr.hr_view(user, "HR page")
    return render_template(
        "review/hr.html",
        teams=teams,
        profile={"person": subject.username, "reason": body.reason, "table": table},
    )


# --- rule tuning --------------------------------------------------------------


@bp.get("/rules")
def rules() -> str:
    """True and false positives per rule on recorded exercises."""
    user = me()
    recorded = tuning.recorded_exercises(user)
    table = tuning.rule_counts(tuning.siem(), recorded)
    return render_template(
        "review/rules.html", table=table, exercises=len(recorded), trial=None
    )


@bp.get("/rules/export")
def rules_export() -> Response:
    query = _form(ExportQuery, request.args.to_dict())
    user = me()
    table = tuning.rule_counts(tuning.siem(), tuning.recorded_exercises(user))
    return exports.respond(exports.pick([table], query.table), query.format, "rules")


@bp.post("/rules/try")
def rules_try() -> str:
    """Counts before and after an exception (nothing is saved)."""
    user = me()
    body = _form(TuningIn)
    rule, exception, before, after = tuning.try_exception(
        user, body.rule_id, body.exception
    )
    recorded = tuning.recorded_exercises(user)
    table = tuning.rule_counts(tuning.siem(), recorded)
    return render_template(
        "review/rules.html",
        table=table,
        exercises=len(recorded),
        trial={
            "rule": rule,
            "exception": exception,
            "text": body.exception,
            "before": before.as_dict(),
            "after": after.as_dict(),
        },
    )
