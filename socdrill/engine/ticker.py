"""The tick: everything the engine does, computed from the database each time.

:meth:`Engine.tick` starts scheduled drills, ends overdue ones (the dead-man
switch), advances every running exercise (stages, crisis messages, events into the
SIEM), writes live background noise, runs streaming detection, forwards copies
to allow-listed targets, scores an ended exercise once and purges expired
individual review data (``socdrill.review.autoscore`` and ``.retention``). The
scheduler (:class:`Ticker`) only calls it; a tick that fails is logged, marks the
exercise degraded and is tried again next time.

For one running exercise a tick:

1. commits the new horizon (how far in scenario time it will play), so a response
   action that commits later takes effect after it;
2. applies the response actions stored up to the horizon and advances the play;
3. fires each decided stage and due crisis message through its inject instance
   (compare-and-set, failing closed unless the exercise is running; the "skip"
   policy marks injects missed after downtime);
4. writes the new window of events (fired stages, response logs, noise) into the
   SIEM and then moves the delivery cursor.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from simulator.timeline import InjectDue, StageOutcome
from socdrill.database import write_transaction
from socdrill.engine import failpoints
from socdrill.engine.crisis import deliver_effect
from socdrill.engine.crisis import inject_key as crisis_key
from socdrill.engine.delivery import Detection, journal_alerts, siem_store, write_events
from socdrill.engine.forwarding import forward_all
from socdrill.engine.live import NoiseSources, live_chunk_end, live_tenant_ids
from socdrill.engine.lock import engine_lock, wait_for
from socdrill.engine.play import Play
from socdrill.engine.runtime import (
    NOISE_PROFILES,
    PlayCache,
    PlayError,
    ensure_runtime,
    stored_responses,
    tenant_organisation,
    uid_prefix,
)
from socdrill.engine.settings import EngineSettings, engine_settings
from socdrill.exercise import injects, journal, lifecycle
from socdrill.exercise.clock import clock_for
from socdrill.exercise.injects import FireResult
from socdrill.extensions import db
from socdrill.leader import LeaderLock
from socdrill.models import (
    CatchUpPolicy,
    EngineRuntime,
    Exercise,
    ExerciseState,
    InjectInstance,
    InjectState,
    LiveEnvironment,
    RuntimeStatus,
    StageOutcomeRecord,
    Tenant,
    utcnow,
)
from socdrill.review.autoscore import AutoScorer
from socdrill.review.retention import DailyPurge

log = logging.getLogger(__name__)

HANDLED = frozenset({InjectState.FIRED, InjectState.MISSED, InjectState.CANCELLED})
# Scenario seconds of events written per exercise and tick at least (a catch-up
# after downtime takes several ticks instead of one huge one).
MIN_WINDOW_SECONDS = 600.0


def stage_key(stage_id: str) -> str:
    return f"stage:{stage_id}"


@dataclass
class TickSummary:
    """What one tick did (for logs, the CLI and tests)."""

    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    advanced: list[int] = field(default_factory=list)
    fired: int = 0
    events: int = 0
    noise: int = 0
    alerts: int = 0
    scored: list[int] = field(default_factory=list)
    purged: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Engine:
    """The engine of one app. Call :meth:`tick` inside an app context."""

    def __init__(
        self,
        app: Flask,
        settings: EngineSettings | None = None,
        *,
        notify: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings or engine_settings(app.config)
        self.plays = PlayCache()
        self.noise = NoiseSources()
        self._notify = notify
        self._detection: Detection | None = None
        self._refused: set[tuple[int, str]] = set()
        self.autoscore = AutoScorer(app, lambda: self.detection)
        self.retention = DailyPurge(app)

    @property
    def detection(self) -> Detection:
        if self._detection is None:
            self._detection = Detection(siem_store(self.app))
        return self._detection

    # --- the tick ------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickSummary:
        """One pass over everything due at ``now`` (default: the wall clock)."""
        now = now or utcnow()
        summary = TickSummary()
        # Read what others committed since the last tick.
        db.session.commit()
        db.session.expire_all()
        summary.started = self.start_scheduled(now)
        summary.ended = lifecycle.auto_endex_overdue(now)
        if summary.started or summary.ended:
            self._emit()
        running = db.session.scalars(
            sa.select(Exercise.id)
            .where(Exercise.state == ExerciseState.RUNNING)
            .order_by(Exercise.id)
        ).all()
        for exercise_id in running:
            try:
                self.advance_exercise(exercise_id, now, summary)
                summary.advanced.append(exercise_id)
            except PlayError as error:
                self._degraded(exercise_id, str(error), summary)
            except Exception as error:  # one broken exercise must not stop the rest
                log.exception("engine: exercise %s failed", exercise_id)
                self.plays.drop(exercise_id)
                self._degraded(exercise_id, f"{type(error).__name__}: {error}", summary)
        try:
            summary.noise = self.advance_live(now)
        except Exception as error:
            log.exception("engine: live noise failed")
            summary.errors.append(f"live noise: {error}")
        notices = self.detection.tick(self.settings.max_events_per_tick)
        summary.alerts = sum(1 for notice in notices if notice.new)
        if journal_alerts(notices):
            self._emit()
        forward_all(siem_store(self.app), self.settings)
        self._review(now, summary)
        db.session.commit()
        return summary

    def _review(self, now: datetime, summary: TickSummary) -> None:
        """Score one ended exercise, purge expired individual data (daily); a
        failure is logged and never stops the tick."""
        jobs = (
            ("automatic scoring", summary.scored, self.autoscore.tick),
            ("retention purge", summary.purged, self.retention.tick),
        )
        for name, done, job in jobs:
            try:
                done.extend(job(now))
            except Exception as error:
                log.exception("engine: %s failed", name)
                db.session.rollback()
                summary.errors.append(f"{name}: {type(error).__name__}: {error}")

    def _emit(self) -> None:
        """Committed journal events are ready for live updates."""
        failpoints.hit("after_commit_before_emit")
        if self._notify is not None:
            self._notify()

    def _degraded(self, exercise_id: int, message: str, summary: TickSummary) -> None:
        db.session.rollback()
        summary.errors.append(f"exercise {exercise_id}: {message}")
        with write_transaction():
            runtime = db.session.get(EngineRuntime, exercise_id)
            exercise = db.session.get(Exercise, exercise_id)
            first = runtime is None or runtime.status != RuntimeStatus.DEGRADED
            if runtime is not None:
                runtime.status = RuntimeStatus.DEGRADED
                runtime.last_error = message[:500]
            if first and (exercise_id, message) not in self._refused:
                self._refused.add((exercise_id, message))
                journal.append_event(
                    exercise,
                    "engine.error",
                    {"message": message[:500]},
                    room=journal.control_room(exercise_id),
                )
        self._emit()

    # --- scheduled starts ------------------------------------------------------------

    def start_scheduled(self, now: datetime) -> list[int]:
        """Start scheduled drills whose time has come: an announced one at its
        scheduled start (or window start), an unannounced one at the time its
        seed picked."""
        started = []
        for exercise in db.session.scalars(
            sa.select(Exercise).where(Exercise.state == ExerciseState.SCHEDULED)
        ).all():
            at = exercise.scheduled_start or (
                exercise.window_start if exercise.announced else None
            )
            if at is None or at > now:
                continue
            try:
                lifecycle.start(exercise.id, None, now, actor_name="system")
            except lifecycle.LifecycleError as error:
                self._refuse_start(exercise.id, str(error))
                continue
            started.append(exercise.id)
        return started

    def _refuse_start(self, exercise_id: int, message: str) -> None:
        """Tell control once why a scheduled drill could not start."""
        if (exercise_id, message) in self._refused:
            return
        self._refused.add((exercise_id, message))
        log.warning("engine: exercise %s not started: %s", exercise_id, message)
        with write_transaction():
            exercise = db.session.get(Exercise, exercise_id)
            journal.append_event(
                exercise,
                "engine.start_refused",
                {"message": message},
                room=journal.control_room(exercise_id),
            )
        self._emit()

    # --- one exercise --------------------------------------------------------------

    def advance_exercise(
        self, exercise_id: int, now: datetime, summary: TickSummary | None = None
    ) -> None:
        summary = summary or TickSummary()
        exercise = db.session.get(Exercise, exercise_id)
        if exercise is None or exercise.state != ExerciseState.RUNNING:
            return
        clock = clock_for(exercise)
        wall = now.timestamp()
        scenario_now = clock.scenario_seconds_at(wall)
        speed = clock.speed_at(wall)
        runtime = ensure_runtime(exercise)
        horizon = self._commit_horizon(exercise_id, scenario_now, now)
        if horizon is None:
            return
        runtime = db.session.get(EngineRuntime, exercise_id)
        origin = runtime.origin
        responses = stored_responses(exercise_id, origin)
        play, fresh = self.plays.get(exercise, runtime, responses)
        for response in fresh:
            if response.ts > origin + horizon:
                break
            play.apply(response)
        play.advance(origin + horizon)
        states = injects.inject_states(exercise_id)
        for outcome in play.outcomes():
            if states.get(stage_key(outcome.stage)) not in HANDLED:
                summary.fired += self._decide_stage(
                    exercise, play, outcome, scenario_now, speed, now, states
                )
        for inject in play.crisis_due(origin + horizon):
            if states.get(crisis_key(inject.id)) not in HANDLED:
                summary.fired += self._deliver_crisis(
                    exercise, play, inject, scenario_now, speed, now, states
                )
        summary.events += self._deliver(exercise_id, play, speed)
        if runtime.status != RuntimeStatus.OK:
            with write_transaction():
                row = db.session.get(EngineRuntime, exercise_id)
                row.status = RuntimeStatus.OK
                row.last_error = ""

    def _commit_horizon(
        self, exercise_id: int, scenario_now: float, now: datetime
    ) -> float | None:
        """Record how far this tick plays; None when the exercise stopped."""
        with write_transaction():
            exercise = db.session.scalar(
                sa.select(Exercise)
                .where(Exercise.id == exercise_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if exercise is None or exercise.state != ExerciseState.RUNNING:
                return None
            runtime = db.session.scalar(
                sa.select(EngineRuntime)
                .where(EngineRuntime.exercise_id == exercise_id)
                .execution_options(populate_existing=True)
            )
            if scenario_now > runtime.horizon:
                runtime.horizon = scenario_now
                runtime.updated_at = now
            return runtime.horizon

    def _skip(self, exercise: Exercise, due: float, scenario_now: float, speed: float):
        """Under the "skip" policy, an inject later than the grace is missed."""
        if exercise.catch_up_policy != CatchUpPolicy.SKIP:
            return False
        return (scenario_now - due) / speed > self.settings.misfire_grace_seconds

    def _plan(self, exercise_id: int, key: str, due: float, states: dict) -> None:
        if key not in states:
            injects.plan_injects(exercise_id, {key: max(0.0, due)})
            states[key] = InjectState.PENDING

    def _decide_stage(
        self,
        exercise: Exercise,
        play: Play,
        outcome: StageOutcome,
        scenario_now: float,
        speed: float,
        now: datetime,
        states: dict,
    ) -> int:
        key = stage_key(outcome.stage)
        due = outcome.due - play.origin
        self._plan(exercise.id, key, due, states)
        if self._skip(exercise, due, scenario_now, speed):
            result = injects.miss_inject(
                exercise.id,
                key,
                now,
                self._outcome_effect(exercise, outcome, due, "missed"),
            )
        else:
            result = injects.fire_inject(
                exercise.id,
                key,
                now,
                self._outcome_effect(exercise, outcome, due, None),
            )
        if result == FireResult.FIRED:
            self._emit()
            return 1
        return 0

    def _outcome_effect(
        self, exercise: Exercise, outcome: StageOutcome, due: float, status: str | None
    ):
        def effect(instance: InjectInstance) -> None:
            final = status or outcome.status
            db.session.add(
                StageOutcomeRecord(
                    exercise_id=exercise.id,
                    stage_id=outcome.stage,
                    status=final,
                    due_scenario_seconds=due,
                    technique=outcome.technique,
                    tier=outcome.tier,
                    reason=outcome.reason[:300],
                    fallback=outcome.fallback,
                    event_count=len(outcome.events) if final == "fired" else 0,
                )
            )
            journal.append_event(
                exercise,
                f"stage.{final}",
                {
                    "stage": outcome.stage,
                    "technique": outcome.technique,
                    "tier": outcome.tier,
                    "due": round(due, 3),
                    "reason": outcome.reason,
                    "fallback": outcome.fallback,
                    "events": len(outcome.events) if final == "fired" else 0,
                },
                room=journal.control_room(exercise.id),
            )

        return effect

    def _deliver_crisis(
        self,
        exercise: Exercise,
        play: Play,
        inject: InjectDue,
        scenario_now: float,
        speed: float,
        now: datetime,
        states: dict,
    ) -> int:
        key = crisis_key(inject.id)
        due = inject.due - play.origin
        self._plan(exercise.id, key, due, states)
        if self._skip(exercise, due, scenario_now, speed):
            result = injects.miss_inject(exercise.id, key, now)
        else:
            result = injects.fire_inject(
                exercise.id,
                key,
                now,
                deliver_effect(exercise, inject, play.origin, now),
            )
        if result == FireResult.FIRED:
            self._emit()
            return 1
        return 0

    def _deliver(self, exercise_id: int, play: Play, speed: float) -> int:
        """Write the next window of events into the SIEM, then move the cursor."""
        db.session.commit()
        runtime = db.session.get(EngineRuntime, exercise_id)
        exercise = db.session.get(Exercise, exercise_id)
        start = runtime.delivered_until
        end = runtime.horizon
        if end <= start:
            return 0
        cursor = start
        grace = self.settings.misfire_grace_seconds * speed
        if exercise.catch_up_policy == CatchUpPolicy.SKIP and end - start > grace:
            start = end - grace  # what fell due while nothing ran is skipped
        end = min(
            end, start + max(MIN_WINDOW_SECONDS, speed * 4 * self.settings.tick_seconds)
        )
        origin = play.origin
        noise, end = self._exercise_noise(exercise, play, start, end, speed)
        states = injects.inject_states(exercise_id)
        fired = [
            key.removeprefix("stage:")
            for key, state in states.items()
            if key.startswith("stage:") and state == InjectState.FIRED
        ]
        # The first window also holds what happened at scenario second 0.
        low = origin + start if start > 0 else -math.inf
        pairs = list(play.stage_events(fired, low, origin + end))
        events = [event for event, _ in pairs] + play.response_logs(low, origin + end)
        events += noise
        # Fail closed: nothing more reaches the SIEM once the exercise stopped.
        db.session.refresh(exercise)
        if exercise.state != ExerciseState.RUNNING:
            return 0
        written = write_events(
            siem_store(self.app),
            events,
            [label for _, label in pairs],
            tenant=exercise.tenant.slug,
            exercise=str(exercise_id),
        )
        with write_transaction():
            row = db.session.scalar(
                sa.select(EngineRuntime)
                .where(EngineRuntime.exercise_id == exercise_id)
                .execution_options(populate_existing=True)
            )
            if row.delivered_until == cursor:
                row.delivered_until = end
        return written

    def _exercise_noise(
        self, exercise: Exercise, play: Play, start: float, end: float, speed: float
    ) -> tuple[list, float]:
        """Background noise of the exercise's window (none in a live tenant, whose
        own noise runs in wall time); the window shrinks if the noise is cut."""
        scale = self.settings.noise_scale
        if scale <= 0 or exercise.tenant_id in live_tenant_ids():
            return [], end
        profile = NOISE_PROFILES[exercise.tenant.noise_profile]
        generator = self.noise.generator(
            f"x{exercise.id}",
            f"{exercise.seed}:{profile}:{play.origin}",
            play.org,
            exercise.seed,
            profile,
        )
        events, stop = self.noise.window(
            generator,
            play.origin + start,
            play.origin + end,
            prefix=uid_prefix(exercise.id),
            fraction=min(1.0, scale / max(speed, 1.0)),
            limit=self.settings.max_events_per_tick,
        )
        return events, min(end, stop - play.origin)

    # --- live environments -----------------------------------------------------------

    def advance_live(self, now: datetime) -> int:
        """Write each live tenant's noise up to now (or one chunk of its backfill)."""
        wall = now.timestamp()
        written = 0
        envs = db.session.scalars(
            sa.select(LiveEnvironment).where(LiveEnvironment.enabled)
        ).all()
        for env in envs:
            start = env.noise_until
            end = live_chunk_end(env, wall)
            if end - start < 1.0:
                continue
            tenant = db.session.get(Tenant, env.tenant_id)
            org = tenant_organisation(tenant, env.seed)
            generator = self.noise.generator(
                f"t{tenant.id}",
                f"{env.seed}:{env.profile}:{tenant.organisation_seed}:"
                f"{len(tenant.organisation or {})}",
                org,
                env.seed,
                env.profile,
            )
            events, stop = self.noise.window(
                generator,
                start,
                end,
                prefix=f"t{tenant.id}-",
                fraction=env.scale,
                limit=self.settings.max_events_per_tick,
            )
            written += write_events(
                siem_store(self.app), events, [], tenant=tenant.slug, exercise=None
            )
            with write_transaction():
                row = db.session.scalar(
                    sa.select(LiveEnvironment)
                    .where(LiveEnvironment.tenant_id == env.tenant_id)
                    .execution_options(populate_existing=True)
                )
                if row is not None and row.noise_until == start:
                    row.noise_until = stop
        return written


class Ticker:
    """Runs :meth:`Engine.tick` on an APScheduler BackgroundScheduler.

    One interval job (coalesced, one instance at a time, no misfire limit: the
    tick computes what is due from the database, so a late tick loses nothing).
    Before the first tick the ticker takes the leader lock; a second ticker waits.
    """

    def __init__(
        self,
        app: Flask,
        *,
        notify: Callable[[], None] | None = None,
        lock: LeaderLock | None = None,
    ) -> None:
        self.app = app
        self.settings = engine_settings(app.config)
        self.engine = Engine(app, self.settings, notify=notify)
        with app.app_context():
            self.lock = lock or engine_lock(db.engine)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        # A tick that outlasts the interval only delays the next one (coalesced);
        # APScheduler's warning about it is noise.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        logging.getLogger("apscheduler.executors.default").setLevel(logging.ERROR)
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self._stop = threading.Event()
        self._waiter: threading.Thread | None = None
        self.leading = threading.Event()

    def start(self, *, wait: bool = False) -> None:
        """Take the lock (in the background unless ``wait``), then tick."""
        if wait:
            self._lead()
            return
        self._waiter = threading.Thread(
            target=self._lead, name="socdrill-engine-lock", daemon=True
        )
        self._waiter.start()

    def _lead(self) -> None:
        if not wait_for(self.lock, self._stop):
            return
        log.info(
            "engine: leader lock taken; ticking every %ss", self.settings.tick_seconds
        )
        self.scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.settings.tick_seconds,
            id="socdrill-tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.start()
        self.leading.set()

    def _tick(self) -> None:
        if not self.lock.held():
            # The database session behind the lock was lost: another engine may
            # lead now, so this one stops ticking rather than tick twice.
            log.error("engine: leader lock lost; stopping")
            self.scheduler.remove_all_jobs()
            self.leading.clear()
            return
        with self.app.app_context():
            try:
                self.engine.tick()
            finally:
                db.session.remove()

    def _on_error(self, event: JobExecutionEvent) -> None:
        log.error("engine tick failed: %s", event.exception)

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.lock.release()
