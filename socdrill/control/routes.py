"""Exercise control views. Browser forms and API clients use the same routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill import tenancy
from socdrill.control import bp
from socdrill.database import write_transaction
from socdrill.exercise import journal, lifecycle
from socdrill.exercise.lifecycle import LifecycleError, Outcome
from socdrill.exercise.planning import (
    PlanningError,
    create_draft,
    read_scenario_file,
    scenario_files,
)
from socdrill.exercise.scheduling import SchedulingError
from socdrill.exercise.views import exercise_summary
from socdrill.extensions import db
from socdrill.models import (
    CatchUpPolicy,
    ExerciseEvent,
    Membership,
    Role,
    Team,
    Tenant,
    User,
    utcnow,
)
from socdrill.responses import done, fields, refused


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.get("/exercises")
def exercises() -> str:
    """Exercises in your scope, newest first, with their lifecycle buttons."""
    me = _me()
    rows = db.session.scalars(tenancy.visible_exercises(me)).all()
    return render_template("control/exercises.html", exercises=rows)


def _plannable(me: User) -> tuple[list[Tenant], list[Team]]:
    """Tenants in scope, and the teams monitoring them that ``me`` may plan for."""
    tenants = db.session.scalars(
        tenancy.scoped(sa.select(Tenant), Tenant.id, me).order_by(Tenant.name)
    ).all()
    statement = sa.select(Team).order_by(Team.name)
    if me.role != Role.ADMIN:
        statement = statement.join(Membership).where(
            Membership.user_id == me.id, Membership.left_at.is_(None)
        )
    teams = db.session.scalars(statement.distinct()).all()
    return list(tenants), list(teams)


def _parse_utc(value: str, label: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PlanningError(f"{label} {value!r} is not a date and time") from None
    return (
        parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    )


def _number(value: Any, label: str, kind: Callable[[str], Any]) -> Any:
    try:
        return kind(str(value).strip())
    except ValueError:
        raise PlanningError(f"{label} must be a number, got {value!r}") from None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes")


@bp.route("/exercises/new", methods=["GET", "POST"])
def exercise_new() -> Response | str | tuple[Any, int]:
    """Plan a draft exercise of a library scenario for a tenant and a team."""
    me = _me()
    tenants, teams = _plannable(me)
    directory = Path(current_app.config["SCENARIOS_DIR"])
    library = [path.name for path in scenario_files(directory)]
    if request.method != "POST":
        return render_template(
            "control/exercise_new.html",
            tenants=tenants,
            teams=teams,
            scenarios=library,
            policies=list(CatchUpPolicy),
        )
    values = fields()
    back = url_for("control.exercise_new")
    try:
        tenant = next(
            (t for t in tenants if str(t.id) == str(values.get("tenant_id", ""))), None
        )
        team = next(
            (t for t in teams if str(t.id) == str(values.get("team_id", ""))), None
        )
        if tenant is None or team is None:
            raise PlanningError("choose a tenant and a team in your scope")
        filename = str(values.get("scenario", ""))
        if filename not in library:
            raise PlanningError(f"{filename!r} is not in the scenario library")
        snapshot = read_scenario_file(
            directory / filename, current_app.config["SCENARIO_MAX_BYTES"]
        )
        seed_text = str(values.get("seed", "") or "").strip()
        policy_text = str(values.get("catch_up_policy", "") or "catch_up")
        try:
            policy = CatchUpPolicy(policy_text)
        except ValueError:
            raise PlanningError(f"unknown catch-up policy {policy_text!r}") from None
        blackout = str(values.get("blackout_dates", "") or "").replace(",", " ").split()
        with write_transaction():
            exercise = create_draft(
                actor=me,
                name=str(values.get("name", "")),
                tenant=tenant,
                team=team,
                scenario=snapshot,
                seed=_number(seed_text, "seed", int) if seed_text else None,
                announced=_truthy(values.get("announced", "")),
                window_start=_parse_utc(
                    str(values.get("window_start", "")), "window start"
                ),
                window_end=_parse_utc(str(values.get("window_end", "")), "window end"),
                blackout_dates=blackout,
                max_duration_seconds=int(
                    _number(
                        values.get("max_duration_minutes", 480),
                        "maximum duration",
                        float,
                    )
                    * 60
                ),
                speed_factor=_number(values.get("speed_factor", 1), "speed", float),
                catch_up_policy=policy,
            )
            exercise_id = exercise.id
    except PlanningError as error:
        return refused(str(error), back, 400)
    return done(
        "Draft exercise created.",
        url_for("control.exercise", exercise_id=exercise_id),
        {"exercise_id": exercise_id},
    )


@bp.get("/exercises/<int:exercise_id>")
def exercise(exercise_id: int) -> str:
    """One exercise: state, clock, approvals, trusted agents and control log."""
    me = _me()
    row = tenancy.exercise_or_404(exercise_id, me)
    events: list[ExerciseEvent] = []
    team_members: list[User] = []
    if me.role in tenancy.CONTROL_ROLES:
        events = list(
            db.session.scalars(
                sa.select(ExerciseEvent)
                .where(ExerciseEvent.room == journal.control_room(row.id))
                .order_by(ExerciseEvent.seq.desc())
                .limit(20)
            )
        )
        team_members = [m.user for m in row.team.active_memberships()]
    return render_template(
        "control/exercise.html",
        exercise=row,
        summary=exercise_summary(row, me, utcnow()),
        events=events,
        team_members=team_members,
    )


def _act(
    exercise_id: int, action: Callable[[User], Outcome]
) -> Response | tuple[Any, int]:
    """Run one lifecycle action on an exercise in scope; JSON or redirect back."""
    me = _me()
    row = tenancy.exercise_or_404(exercise_id, me)
    back = url_for("control.exercise", exercise_id=row.id)
    try:
        outcome = action(me)
    except LifecycleError as error:
        return refused(str(error), back, error.status)
    except SchedulingError as error:
        return refused(str(error), back, 409)
    return done(
        outcome.message,
        back,
        {
            "exercise_id": outcome.exercise_id,
            "state": outcome.state.value,
            "changed": outcome.changed,
        },
    )


@bp.post("/exercises/<int:exercise_id>/schedule")
def schedule(exercise_id: int) -> Response | tuple[Any, int]:
    return _act(exercise_id, lambda me: lifecycle.schedule(exercise_id, me, utcnow()))


@bp.post("/exercises/<int:exercise_id>/approve")
def approve(exercise_id: int) -> Response | tuple[Any, int]:
    return _act(exercise_id, lambda me: lifecycle.approve(exercise_id, me, utcnow()))


@bp.post("/exercises/<int:exercise_id>/trusted-agents")
def trusted_agent(exercise_id: int) -> Response | tuple[Any, int]:
    def add(me: User) -> Outcome:
        username = str(fields().get("username", "")).strip().lower()
        agent = db.session.scalar(sa.select(User).where(User.username == username))
        if agent is None:
            raise LifecycleError(f"no account is called {username!r}")
        return lifecycle.add_trusted_agent(exercise_id, me, agent, utcnow())

    return _act(exercise_id, add)


@bp.post("/exercises/<int:exercise_id>/start")
def start(exercise_id: int) -> Response | tuple[Any, int]:
    return _act(exercise_id, lambda me: lifecycle.start(exercise_id, me, utcnow()))


@bp.post("/exercises/<int:exercise_id>/pause")
def pause(exercise_id: int) -> Response | tuple[Any, int]:
    return _act(exercise_id, lambda me: lifecycle.pause(exercise_id, me, utcnow()))


@bp.post("/exercises/<int:exercise_id>/resume")
def resume(exercise_id: int) -> Response | tuple[Any, int]:
    return _act(exercise_id, lambda me: lifecycle.resume(exercise_id, me, utcnow()))


@bp.post("/exercises/<int:exercise_id>/speed")
def speed(exercise_id: int) -> Response | tuple[Any, int]:
    def change(me: User) -> Outcome:
        raw = fields().get("speed", "")
        try:
            value = float(str(raw).strip())
        except ValueError:
            raise LifecycleError(f"speed must be a number, got {raw!r}") from None
        return lifecycle.set_speed(exercise_id, me, value, utcnow())

    return _act(exercise_id, change)


@bp.post("/exercises/<int:exercise_id>/endex")
def endex(exercise_id: int) -> Response | tuple[Any, int]:
    """ENDEX over plain HTTP: works without live updates."""
    reason = str(fields().get("reason", "") or "")
    return _act(
        exercise_id, lambda me: lifecycle.endex(exercise_id, me, utcnow(), reason)
    )


@bp.post("/exercises/<int:exercise_id>/review")
def review(exercise_id: int) -> Response | tuple[Any, int]:
    return _act(exercise_id, lambda me: lifecycle.review(exercise_id, me, utcnow()))


@bp.get("/exercises/<int:exercise_id>/live")
def live(exercise_id: int) -> str:
    """The control cell's live view: ground truth beside the team's progress."""
    from simulator import vocabulary
    from socdrill.console.errors import ConsoleError
    from socdrill.control import live as live_view

    me = _me()
    try:
        row = live_view.exercise_for_control(exercise_id, me)
    except ConsoleError:
        abort(404)
    return render_template(
        "control/live.html",
        exercise=row,
        summary=exercise_summary(row, me, utcnow()),
        state=live_view.live_state(row),
        channels=vocabulary.CRISIS_CHANNELS,
        users={user.id: user.username for user in db.session.scalars(sa.select(User))},
    )
