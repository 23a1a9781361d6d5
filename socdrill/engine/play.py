"""One scenario played against the team's response history, deterministically.

A :class:`Play` wraps a :class:`simulator.timeline.Timeline` and its
:class:`simulator.responses.ResponseState`. The engine advances it tick by tick and
applies response actions as they arrive; after a restart it rebuilds the same play
from the stored history. Both paths call the same two methods in the same order
(:meth:`Play.apply` at each action's time, :meth:`Play.advance` up to a horizon),
and the timeline decides a stage only from the state in force at its due time, so
they decide every stage, write every event and draw every random value alike.

Pure: no Flask, no database. Uids are prefixed per exercise (``x12-a-stage-0``)
because the SIEM keeps uids unique across tenants and exercises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.environment import Organisation
from simulator.events import Event, Label
from simulator.responses import ResponseState
from simulator.scenario.model import Scenario
from simulator.scenario.seeding import stable_rng
from simulator.sensors.base import SensorContext
from simulator.timeline import InjectDue, StageOutcome, Timeline

# A response takes effect just after the stages due at the same instant.
BEFORE = 1e-9


@dataclass(frozen=True, slots=True)
class AppliedResponse:
    """A stored response action as the play needs it."""

    action: str
    target: str  # a role name ("victim_ws") or a value ("203.0.113.7")
    ts: float  # simulated POSIX time it takes effect
    actor: str | None = None


class Play:
    """The timeline of one exercise, advanced to a horizon in simulated time."""

    def __init__(
        self,
        scenario: Scenario,
        org: Organisation,
        seed: int,
        origin: float,
        *,
        uid_prefix: str,
    ) -> None:
        self.scenario = scenario
        self.org = org
        self.origin = origin
        self.uid_prefix = uid_prefix
        self.timeline = Timeline(scenario, org, seed, origin)
        self.state = ResponseState()
        # Response logs share the timeline's record counters and process cache, as
        # in Timeline.run, so record numbers stay monotonic per host and channel.
        self._ctx = SensorContext(
            org=org,
            rng=stable_rng(seed, scenario.id, "responses"),
            counters=self.timeline._counters,
            cache=self.timeline._cache,
        )
        self.horizon = origin
        self.applied = 0
        self.response_events: list[Event] = []

    @property
    def bindings(self) -> dict[str, Any]:
        return self.timeline.bindings

    def advance(self, until: float) -> list[StageOutcome]:
        """Decide every stage due by ``until``; return those decided now."""
        decided = self.timeline.due(until, self.state)
        for outcome in decided:
            self.timeline.add_denials(outcome, self.state)
        self.horizon = max(self.horizon, until)
        return decided

    def apply(
        self, response: AppliedResponse
    ) -> tuple[list[StageOutcome], list[Event]]:
        """Apply one response at its time: the stages due before it are decided
        first, running stages it breaks are cut short, blocked traffic is denied.

        Returns the stages decided on the way and the logs the action wrote.
        Raises :class:`simulator.responses.ResponseError` for an action the
        sandbox cannot apply (nothing changes then).
        """
        decided = self.advance(response.ts - BEFORE)
        target = self.bindings.get(response.target, response.target)
        events = self.state.apply(
            response.action,
            target,
            response.ts,
            self._ctx,
            sensors=self.timeline.sensors,
            actor=response.actor,
        )
        self.timeline.contain(response.ts, self.state)
        for outcome in self.timeline.outcomes.values():
            self.timeline.add_denials(outcome, self.state)
        self.applied += 1
        self.response_events.extend(events)
        return decided, events

    def outcomes(self) -> list[StageOutcome]:
        """Every decided stage, in due order."""
        return sorted(self.timeline.outcomes.values(), key=lambda o: o.due)

    def crisis_due(self, until: float) -> list[InjectDue]:
        """Crisis messages due by ``until`` (known once their anchor stage is)."""
        return [inject for inject in self.timeline.injects() if inject.due <= until]

    # --- events in a window, with exercise uids ----------------------------------

    def stage_events(
        self, stage_ids: Iterable[str], start: float, end: float
    ) -> Iterator[tuple[Event, Label]]:
        """Events (and labels) of the given stages with ``start < ts <= end``."""
        wanted = set(stage_ids)
        for outcome in self.timeline.outcomes.values():
            if outcome.stage not in wanted:
                continue
            for event, label in zip(outcome.events, outcome.labels, strict=True):
                if start < event.ts <= end:
                    yield (
                        self.own(event),
                        dataclasses.replace(label, uid=self.uid_prefix + label.uid),
                    )

    def response_logs(self, start: float, end: float) -> list[Event]:
        """Logs the response actions wrote with ``start < ts <= end``."""
        return [self.own(e) for e in self.response_events if start < e.ts <= end]

    def own(self, event: Event) -> Event:
        """The event with this exercise's uid prefix."""
        return dataclasses.replace(event, uid=self.uid_prefix + event.uid)


def rebuild(
    scenario: Scenario,
    org: Organisation,
    seed: int,
    origin: float,
    responses: Sequence[AppliedResponse],
    horizon: float,
    *,
    uid_prefix: str,
) -> Play:
    """The play as a live run that applied ``responses`` would have it at
    ``horizon`` (the same calls, in the same order). Responses after the horizon
    are left for the caller (``responses[play.applied:]``)."""
    play = Play(scenario, org, seed, origin, uid_prefix=uid_prefix)
    for response in responses:
        if response.ts > horizon:
            break
        play.apply(response)
    play.advance(horizon)
    return play
