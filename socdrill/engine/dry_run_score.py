"""How a scenario would score, from a dry run and a scripted team.

The dry run plays the scenario at full speed into a scratch SIEM; this module turns
what it produced (labels, alerts, outcomes, crisis messages) and the script's team
actions into the scorer's input, exactly as :mod:`socdrill.engine.scoring_input`
does for a real drill, and runs :func:`scoring.score_exercise`.

Time model: one scenario second is one second of the scripted team's time (speed 1,
no pauses), the exercise starts at scenario second 0 and ends (ENDEX) at the
scenario's ``duration``. An alert counts as raised when its first event is written;
a live engine adds its detection latency (a second or two) to that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoring import (
    Activity,
    Alert,
    ClockSegment,
    CrisisMessage,
    Exercise,
    ExerciseClock,
    InjectEvidence,
    score_exercise,
)
from simulator.scenario import Scenario
from simulator.scenario.problems import did_you_mean
from simulator.timeline import InjectDue, StageOutcome
from socdrill.engine.dry_run_script import (
    AlertSelector,
    DryRunError,
    ScriptedAction,
    ScriptedResponse,
)
from socdrill.engine.scoring_input import (
    critical_assets,
    scored_stage,
    technique_tactics,
)


@dataclass(frozen=True, slots=True)
class DryAlert:
    """An alert of the scratch SIEM with its rule and ground-truth stage."""

    id: int
    rule_id: str
    rule: str  # the rule's name, or its title when it has none
    title: str
    raised_at: float  # simulated POSIX seconds of its first event
    stage: str | None  # the stage most of its labelled events belong to
    stages: frozenset[str] = frozenset()  # every stage its events belong to


def offset(seconds: float) -> str:
    """``+1h30m05s`` style scenario offsets for messages."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h" if hours else ""
    return f"+{text}{minutes}m{secs:02d}s"


class ActionResolver:
    """Turns scripted team actions into activity rows: roles become their bound
    values, alert selectors the ids of the alerts raised by the step's time."""

    def __init__(
        self,
        alerts: Sequence[DryAlert],
        bindings: Mapping[str, str],
        injects: Sequence[InjectDue],
        stages: Sequence[str],
        origin: float,
    ) -> None:
        self.alerts = sorted(alerts, key=lambda a: (a.raised_at, a.id))
        self.bindings = bindings
        self.injects = {inject.id: inject for inject in injects}
        self.stages = tuple(stages)
        self.origin = origin

    def value(self, name: str) -> str:
        return self.bindings.get(name, name)

    def select(self, selector: AlertSelector, at: float, where: str) -> list[str]:
        """Ids of the alerts ``selector`` names that were raised by ``at``."""
        if selector.stage is not None and selector.stage not in self.stages:
            raise DryRunError(
                f"{where}: no stage {selector.stage!r} in the scenario"
                f"{did_you_mean(selector.stage, self.stages)}"
            )
        matching = [a for a in self.alerts if self._matches(a, selector)]
        if selector.rule is not None and not any(
            self._rule_matches(a, selector.rule) for a in self.alerts
        ):
            names = sorted({a.rule for a in self.alerts})
            raise DryRunError(
                f"{where}: no alert of rule {selector.rule!r} was raised in this run"
                f"{did_you_mean(selector.rule, names)}"
            )
        due = self.origin + at
        raised = [str(a.id) for a in matching if a.raised_at <= due]
        if not raised:
            first = f" (the first at {offset(matching[0].raised_at - self.origin)})"
            raise DryRunError(
                f"{where}: no alert of {selector.describe()} raised by {offset(at)}"
                + (first if matching else "")
            )
        return raised

    @staticmethod
    def _rule_matches(alert: DryAlert, rule: str) -> bool:
        wanted = rule.casefold()
        return wanted in (alert.rule.casefold(), alert.rule_id, alert.title.casefold())

    def _matches(self, alert: DryAlert, selector: AlertSelector) -> bool:
        if selector.rule is not None and not self._rule_matches(alert, selector.rule):
            return False
        return selector.stage is None or alert.stage == selector.stage

    def activity(self, action: ScriptedAction) -> Activity:
        at = self.origin + action.at
        if action.kind in ("ack", "verdict"):
            assert action.alerts is not None  # noqa: S101 - the parser sets it
            targets = tuple(self.select(action.alerts, action.at, action.where))
            fields = {"verdict": action.verdict} if action.verdict else {}
            return Activity(action.actor, action.kind, at, targets, None, fields)
        if action.kind == "ticket":
            return Activity(
                action.actor,
                "ticket_update",
                at,
                (),
                action.ticket,
                self._ticket_fields(action),
            )
        if action.kind == "report_sent":
            return Activity(action.actor, "report_sent", at, (), action.ticket, {})
        if action.kind == "crisis_reply":
            self._check_reply(action)
            return Activity(action.actor, "crisis_reply", at, action.targets)
        targets = tuple(self.value(name) for name in action.targets)
        return Activity(action.actor, "hunt_finding", at, targets)

    def _ticket_fields(self, action: ScriptedAction) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, value in action.fields.items():
            if name == "alerts":
                fields[name] = sorted(
                    {
                        alert_id
                        for selector in value
                        for alert_id in self.select(
                            selector, action.at, f"{action.where}.ticket.alerts"
                        )
                    },
                    key=int,
                )
            elif name in ("assets", "iocs"):
                fields[name] = [self.value(item) for item in value]
            else:
                fields[name] = value
        return fields

    def _check_reply(self, action: ScriptedAction) -> None:
        inject_id = action.targets[0]
        inject = self.injects.get(inject_id)
        if inject is None:
            raise DryRunError(
                f"{action.where}: no crisis message {inject_id!r} in this run"
                f"{did_you_mean(inject_id, self.injects)}"
            )
        if inject.due > self.origin + action.at:
            raise DryRunError(
                f"{action.where}: crisis message {inject_id} arrives at "
                f"{offset(inject.due - self.origin)}, after the reply"
            )


def response_activity(
    response: ScriptedResponse, bindings: Mapping[str, str], origin: float
) -> Activity:
    """A scripted response action as the activity row the console would write."""
    return Activity(
        response.actor,
        "response",
        origin + response.at,
        (bindings.get(response.target, response.target),),
        None,
        {"action": response.action},
    )


def scorer_input(
    scenario: Scenario,
    seed: int,
    origin: float,
    outcomes: Sequence[StageOutcome],
    evidence: Sequence[InjectEvidence],
    alerts: Sequence[DryAlert],
    injects: Sequence[InjectDue],
    bindings: Mapping[str, str],
    responses: Sequence[ScriptedResponse],
    actions: Sequence[ScriptedAction],
    organisation: dict[str, Any],
) -> Exercise:
    """The scorer's view of a dry run with its scripted team."""
    end = origin + float(scenario.duration)
    for step in (*responses, *actions):
        if step.at > scenario.duration:
            raise DryRunError(
                f"a step at {offset(step.at)} comes after the scenario's end "
                f"({offset(scenario.duration)}): ENDEX ends the run there"
            )
    resolver = ActionResolver(
        alerts, bindings, injects, [s.id for s in scenario.stages], origin
    )
    activity = [response_activity(r, bindings, origin) for r in responses]
    activity += [resolver.activity(action) for action in actions]
    activity.sort(key=lambda row: row.at)
    status = {outcome.stage: outcome.status for outcome in outcomes}
    return Exercise(
        id=f"dry-run-{seed}",
        scenario=scenario.id,
        clock=ExerciseClock(
            [ClockSegment(origin)], ended_at=end, scenario_origin=origin
        ),
        stages=tuple(
            scored_stage(scenario, stage, dict(bindings), status)
            for stage in scenario.stages
        ),
        evidence=evidence,
        alerts=[Alert(str(a.id), a.raised_at, a.stage) for a in alerts],
        activity=activity,
        technique_tactics=technique_tactics(),
        critical_assets=critical_assets(organisation),
        crisis=tuple(
            CrisisMessage(i.id, i.channel, i.sender, i.due, i.reply_within)
            for i in injects
        ),
    )


def score(exercise: Exercise) -> dict[str, Any]:
    """The score profile an author needs; the full document is under ``document``."""
    document = score_exercise(exercise)
    details = document["details"]
    triage = details["triage"]
    response = details["response"]
    return {
        "tes": document["tes"].get("tes"),
        "components": document["components"],
        "stages": [
            {
                key: stage.get(key)
                for key in (
                    "stage",
                    "tier",
                    "status",
                    "detected",
                    "tta",
                    "ttd",
                    "ttc",
                    "ttr",
                    "time_score",
                )
            }
            for stage in document["stages"]
        ],
        "triage": {
            key: triage.get(key)
            for key in (
                "attack_alerts",
                "benign_alerts",
                "tp",
                "fn",
                "fp",
                "tn",
                "unhandled_attack",
                "unhandled_benign",
            )
        },
        "response": {
            "required": response.get("required"),
            "done_correct": response.get("done_correct"),
            "missed": response.get("missed", []),
            "collateral": response.get("collateral", []),
        },
        "crisis": {
            key: document["crisis"][key]
            for key in ("shown", "answered", "within_target", "judged", "score")
        },
        "flags": document["flags"],
        "areas_for_improvement": [
            item["finding"] for item in document["aar"]["areas_for_improvement"]
        ],
        "document": document,
    }
