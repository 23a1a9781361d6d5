"""The attack timeline: when each stage happens, what it writes, and what stops it.

A :class:`Timeline` turns a scenario bound to an organisation into stage outcomes. It
can be asked live, "what is due now?" (:meth:`Timeline.due`), by an engine that holds
the current :class:`~simulator.responses.ResponseState`, or run in one go with a list
of response actions (:meth:`Timeline.run`) for log generation and dry runs.

Every stage draws its timing and its template values from its own random stream,
seeded by SHA-256 of (seed, scenario id, stage id): editing one stage never reshuffles
the others, and the same inputs always give the same events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from simulator.binding import bind_roles
from simulator.events import Event, Label
from simulator.responses import ResponseState
from simulator.scenario.seeding import stable_rng
from simulator.scenario.templating import TemplateCache, template_context
from simulator.scenario.validate import stage_rounds
from simulator.sensors.base import SensorContext

if TYPE_CHECKING:
    import random

    from simulator.environment import Organisation
    from simulator.scenario.model import CrisisInject, Scenario, Stage

Status = Literal["fired", "prevented", "fallback"]
# Events of a continuous stage without an explicit `repeat.every`.
DEFAULT_EVERY = 60.0


@dataclass(slots=True)
class StageOutcome:
    """What became of one stage: fired (with its events), prevented, or fallen back."""

    stage: str
    status: Status
    due: float  # POSIX seconds the stage was due (and, if fired, started)
    technique: str
    tier: str
    events: list[Event] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    reason: str = ""  # why it was prevented or fell back
    fallback: str | None = None  # the stage the attacker switched to
    ends: float | None = None  # last event (or end of a continuous stage)
    contained_at: float | None = None  # when a response cut a running stage short


@dataclass(frozen=True, slots=True)
class InjectDue:
    """A crisis inject and the moment it is due."""

    id: str
    due: float
    channel: str
    sender: str
    subject: str | None
    message: str
    reply_within: float | None


@dataclass(slots=True)
class _Plan:
    """Per-stage draws made up front, so the order stages fire in changes nothing."""

    stage: Stage
    index: int
    offset: float  # delay + jitter, seconds (relative to `at`, `after` or activation)
    rng: random.Random


class Timeline:
    """Stage firings for one scenario, organisation, seed and start time."""

    def __init__(
        self,
        scenario: Scenario,
        org: Organisation,
        seed: int,
        start: float,
        bindings: Mapping[str, Any] | None = None,
        *,
        sensors: Mapping[str, Any] | None = None,
    ) -> None:
        self.scenario = scenario
        self.org = org
        self.seed = seed
        self.start = float(start)
        self.bindings = dict(
            bindings if bindings is not None else bind_roles(scenario, org, seed)
        )
        self.sensors = sensors if sensors is not None else _registry()
        self.outcomes: dict[str, StageOutcome] = {}
        self.response_events: list[Event] = []
        self._templates = TemplateCache()
        # Shared by every stage: record numbers stay monotonic per host and channel,
        # and a process started by one stage keeps its GUID in the next.
        self._counters: dict[str, int] = {}
        self._cache: dict[str, Any] = {}
        self._activated: dict[str, float] = {}  # fallback stage -> activation time
        self._injects_sent: set[str] = set()
        fallback_targets = {
            s.on_blocked.stage for s in scenario.stages if s.on_blocked is not None
        }
        self._dormant = fallback_targets
        self._plans: dict[str, _Plan] = {}
        for index, stage in enumerate(scenario.stages):
            rng = stable_rng(seed, scenario.id, "stage", stage.id)
            offset = stage.at or 0.0
            if stage.delay is not None:
                offset += rng.uniform(stage.delay.low, stage.delay.high)
            if stage.jitter:
                offset += rng.uniform(-stage.jitter, stage.jitter)
            # A draw before the anchor is reflected, not clamped: no pile-up at 0.
            self._plans[stage.id] = _Plan(stage, index, abs(offset), rng)

    # --- schedule ------------------------------------------------------------------

    def due_time(self, stage_id: str) -> float | None:
        """When ``stage_id`` is due, or ``None`` while that is not yet known."""
        plan = self._plans[stage_id]
        stage = plan.stage
        if stage_id in self._dormant:
            activated = self._activated.get(stage_id)
            return None if activated is None else _ms(activated + plan.offset)
        if stage.after is None:
            return _ms(self.start + plan.offset)
        anchor = self._anchor(stage.after)
        if anchor is None:
            return None
        return _ms(anchor[0] + plan.offset) if anchor[0] is not None else anchor[1]

    def next_due(self) -> float | None:
        """The earliest known due time of a stage not yet decided."""
        times = [
            t
            for sid in self._plans
            if sid not in self.outcomes and (t := self.due_time(sid)) is not None
        ]
        return min(times) if times else None

    def _anchor(self, stage_id: str) -> tuple[float | None, float] | None:
        """``(realised time, decided at)`` of a decided stage, following fallbacks.

        The realised time is ``None`` when the stage (and any fallback) was prevented;
        ``None`` overall while the stage is still undecided.
        """
        seen: set[str] = set()
        while stage_id not in seen:
            seen.add(stage_id)
            outcome = self.outcomes.get(stage_id)
            if outcome is None:
                return None
            if outcome.status == "fired":
                return outcome.due, outcome.due
            if outcome.status == "prevented" or outcome.fallback is None:
                return None, outcome.due
            stage_id = outcome.fallback
        return None

    # --- live ----------------------------------------------------------------------

    def due(self, now: float, state: ResponseState) -> list[StageOutcome]:
        """Decide every stage due at or before ``now``; each stage is returned once."""
        decided: list[StageOutcome] = []
        while True:
            ready = []
            for sid, plan in self._plans.items():
                if sid in self.outcomes:
                    continue
                stage = plan.stage
                if stage.after is not None and sid not in self._dormant:
                    anchor = self._anchor(stage.after)
                    if anchor is not None and anchor[0] is None and anchor[1] <= now:
                        ready.append((anchor[1], plan.index, sid, "parent"))
                        continue
                when = self.due_time(sid)
                if when is not None and when <= now:
                    ready.append((when, plan.index, sid, "due"))
            if not ready:
                break
            when, _, sid, why = min(ready)
            if why == "parent":
                outcome = self._prevented(
                    sid,
                    when,
                    f"after '{self._plans[sid].stage.after}', which did not happen",
                )
            else:
                outcome = self._decide(sid, when, state)
            self.outcomes[sid] = outcome
            decided.append(outcome)
        return decided

    def contain(self, now: float, state: ResponseState) -> list[StageOutcome]:
        """Cut short running stages whose ``requires`` no longer hold at ``now``.

        Returns the outcomes that changed; their events after ``now`` are removed (an
        engine drops them from its delivery queue too).
        """
        changed = []
        for outcome in self.outcomes.values():
            if outcome.status != "fired" or outcome.contained_at is not None:
                continue
            if outcome.ends is None or outcome.ends <= now:
                continue
            stage = self._plans[outcome.stage].stage
            if self._failing(stage, state) is None:
                continue
            keep = [i for i, e in enumerate(outcome.events) if e.ts <= now]
            outcome.events = [outcome.events[i] for i in keep]
            outcome.labels = [outcome.labels[i] for i in keep]
            outcome.contained_at = now
            outcome.ends = now
            changed.append(outcome)
        return changed

    # --- batch ---------------------------------------------------------------------

    def run(
        self,
        state_changes: Iterable[tuple[float, str, Any]] = (),
        *,
        state: ResponseState | None = None,
    ) -> list[StageOutcome]:
        """Every stage outcome, applying ``(ts, action, target)`` changes on the way.

        A target may be a role name (``"victim_ws"``) or a bound value. Logs written
        by the response actions themselves are kept in :attr:`response_events`.
        """
        state = state if state is not None else ResponseState()
        changes = sorted(state_changes, key=lambda c: c[0])
        ctx = SensorContext(
            org=self.org,
            rng=stable_rng(self.seed, self.scenario.id, "responses"),
            counters=self._counters,
            cache=self._cache,
        )
        for ts, action, target in changes:
            # Stages due before the change see the state as it was.
            self.due(ts - 1e-9, state)
            value = (
                self.bindings.get(target, target)
                if isinstance(target, str)
                else (target)
            )
            self.response_events.extend(
                state.apply(action, value, ts, ctx, sensors=self.sensors)
            )
            self.contain(ts, state)
        self.due(float("inf"), state)
        if changes:
            for outcome in self.outcomes.values():
                self.add_denials(outcome, state)
        order = {sid: plan.index for sid, plan in self._plans.items()}
        return sorted(self.outcomes.values(), key=lambda o: (o.due, order[o.stage]))

    def add_denials(self, outcome: StageOutcome, state: ResponseState) -> None:
        """Add the refusals a block causes: attempts still happen, and are denied.

        An attack event towards a blocked address gets a firewall ``deny`` record;
        towards a blocked domain, a proxy ``TCP_DENIED`` record. Both are evidence
        of the same stage and carry its label.
        """
        extra: list[tuple[Event, Label]] = []
        for event in outcome.events:
            if event.uid.endswith("-deny"):
                return  # already added
            denial = self._denial(event, state)
            if denial is not None:
                extra.append(
                    (
                        denial,
                        Label(
                            denial.uid,
                            self.scenario.id,
                            outcome.stage,
                            outcome.technique,
                        ),
                    )
                )
        if extra:
            pairs = sorted(
                [*zip(outcome.events, outcome.labels, strict=True), *extra],
                key=lambda p: (p[0].ts, p[0].uid),
            )
            outcome.events = [e for e, _ in pairs]
            outcome.labels = [label for _, label in pairs]

    def _denial(self, event: Event, state: ResponseState) -> Event | None:
        fields = event.fields
        ip = (
            fields.get("DestinationIp")
            or fields.get("dst_ip")
            or fields.get("remote_ip")
        )
        name = (
            fields.get("DestinationHostname")
            or fields.get("QueryName")
            or fields.get("cs-host")
            or fields.get("remote_domain")
        )
        source = self.org.host(event.host) if self.org.has_host(event.host) else None
        rng = stable_rng(self.seed, self.scenario.id, "deny", event.uid)
        ctx = SensorContext(
            org=self.org, rng=rng, counters=self._counters, cache=self._cache
        )
        uid = f"{event.uid}-deny"
        if ip and state.blocked_at(str(ip), event.ts) and "firewall" in self.sensors:
            values = {
                "src_ip": source.ip if source else "",
                "dst_ip": str(ip),
                "dst_port": fields.get("DestinationPort") or fields.get("dst_port"),
                "action": "deny",
                "rule": f"soc-block-{ip}",
            }
            values = {k: v for k, v in values.items() if v}
            return self.sensors["firewall"].event(
                uid=uid, ts=event.ts, kind="traffic", host=None, values=values, ctx=ctx
            )
        if name and state.blocked_at(str(name), event.ts) and "proxy" in self.sensors:
            values = {
                "cs-host": str(name),
                "sc-status": 403,
                "x-squid-result": "TCP_DENIED",
                "c-ip": source.ip if source else "",
            }
            values = {k: v for k, v in values.items() if v}
            return self.sensors["proxy"].event(
                uid=uid, ts=event.ts, kind="access", host=None, values=values, ctx=ctx
            )
        return None

    # --- crisis injects ------------------------------------------------------------

    def injects(self) -> list[InjectDue]:
        """Crisis injects whose due time is known so far, in time order.

        An inject ``after`` a stage is known once that stage is decided; one after a
        stage that never happened is left out.
        """
        found = []
        for inject in self.scenario.crisis:
            when = self._inject_time(inject)
            if when is not None:
                found.append(self._inject_due(inject, when))
        return sorted(found, key=lambda i: (i.due, i.id))

    def due_injects(self, now: float) -> list[InjectDue]:
        """Injects due at or before ``now`` not returned before."""
        ready = [i for i in self.injects() if i.due <= now]
        fresh = [i for i in ready if i.id not in self._injects_sent]
        self._injects_sent.update(i.id for i in fresh)
        return fresh

    def _inject_time(self, inject: CrisisInject) -> float | None:
        rng = stable_rng(self.seed, self.scenario.id, "inject", inject.id)
        offset = inject.at or 0.0
        if inject.delay is not None:
            offset += rng.uniform(inject.delay.low, inject.delay.high)
        if inject.after is None:
            return _ms(self.start + offset)
        anchor = self._anchor(inject.after)
        if anchor is None or anchor[0] is None:
            return None
        return _ms(anchor[0] + offset)

    def _inject_due(self, inject: CrisisInject, when: float) -> InjectDue:
        rng = stable_rng(self.seed, self.scenario.id, "inject-text", inject.id)
        context = template_context(self.bindings, rng)
        render = self._templates.render
        return InjectDue(
            id=inject.id,
            due=when,
            channel=inject.channel,
            sender=render(inject.sender, context),
            subject=render(inject.subject, context) if inject.subject else None,
            message=render(inject.message, context),
            reply_within=inject.expect.reply_within,
        )

    # --- deciding one stage ----------------------------------------------------------

    def _decide(self, sid: str, when: float, state: ResponseState) -> StageOutcome:
        stage = self._plans[sid].stage
        failing = self._failing(stage, state)
        if failing is None:
            return self._fire(sid, when)
        condition, role = failing
        reason = f"{condition}: {role} no longer holds"
        if stage.on_blocked is not None:
            target = stage.on_blocked.stage
            self._activated.setdefault(target, when)
            outcome = self._prevented(sid, when, reason)
            outcome.status = "fallback"
            outcome.fallback = target
            return outcome
        return self._prevented(sid, when, reason)

    def _failing(self, stage: Stage, state: ResponseState) -> tuple[str, str] | None:
        for condition, role in stage.conditions():
            if not state.holds(condition, self.bindings.get(role, role)):
                return condition, role
        return None

    def _prevented(self, sid: str, when: float, reason: str) -> StageOutcome:
        stage = self._plans[sid].stage
        return StageOutcome(
            stage=sid,
            status="prevented",
            due=when,
            technique=stage.technique[0],
            tier=stage.tier,
            reason=reason,
        )

    def _fire(self, sid: str, when: float) -> StageOutcome:
        plan = self._plans[sid]
        stage = plan.stage
        context = template_context(self.bindings, plan.rng)
        ctx = SensorContext(
            org=self.org, rng=plan.rng, counters=self._counters, cache=self._cache
        )
        technique = stage.technique[0]
        rounds = stage_rounds(stage)
        every = stage.repeat.every if stage.repeat else DEFAULT_EVERY
        end = when + stage.duration if stage.duration is not None else None
        drafts: list[tuple[float, int, Event]] = []
        n = 0
        for r in range(rounds):
            base = when + r * every
            for spec in stage.events:
                count = (spec.repeat.count or 1) if spec.repeat else 1
                step = spec.repeat.every if spec.repeat else 0.0
                for i in range(count):
                    ts = _ms(base + (spec.delay or 0.0) + i * step)
                    if end is not None and ts >= end:
                        break
                    event = self._event(spec, f"a-{sid}-{n}", ts, context, ctx)
                    drafts.append((ts, n, event))
                    n += 1
        drafts.sort(key=lambda d: (d[0], d[1]))
        events = [d[2] for d in drafts]
        labels = [Label(e.uid, self.scenario.id, sid, technique) for e in events]
        last = events[-1].ts if events else when
        return StageOutcome(
            stage=sid,
            status="fired",
            due=when,
            technique=technique,
            tier=stage.tier,
            events=events,
            labels=labels,
            ends=max(last, end) if end is not None else last,
        )

    def _event(
        self,
        spec: Any,
        uid: str,
        ts: float,
        context: dict[str, Any],
        ctx: SensorContext,
    ) -> Event:
        sensor = self.sensors[spec.sensor]
        host = None
        if spec.host is not None:
            name = self._templates.render(spec.host, context)
            host = self.org.host(name)
        values = {
            key: self._templates.render_value(value, context)
            for key, value in spec.fields.items()
        }
        kind = spec.kind or sensor.default_kind
        return sensor.event(
            uid=uid, ts=ts, kind=kind, host=host, values=values, ctx=ctx
        )


def _ms(ts: float) -> float:
    """Millisecond resolution, the precision every sensor writes."""
    return round(ts * 1000) / 1000


def _registry() -> Mapping[str, Any]:
    from simulator.sensors import SENSORS

    return SENSORS
