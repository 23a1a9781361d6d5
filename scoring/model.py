"""What the scorer reads: scenario ground truth, the clock, alerts, the activity log.

Plain frozen dataclasses. Wall instants are POSIX seconds (UTC); the simulated time of
labelled evidence is the ``Event.ts`` the simulator wrote. Event bodies are never
read: a stage's inject time comes from the labels of its malicious log lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoring.clock import ExerciseClock
from scoring.errors import ScoringInputError

SPEC_VERSION = "1"

__all__ = [
    "ACTIONS",
    "Activity",
    "Alert",
    "CrisisMessage",
    "Exercise",
    "InjectEvidence",
    "KbArticle",
    "Precondition",
    "RequiredResponse",
    "SPEC_VERSION",
    "ScoringInputError",
    "Stage",
    "TeamHistory",
    "TeamMember",
    "TicketGrade",
]

# Activity log action types the scorer understands.
ACTIONS = frozenset(
    {
        "ack",  # take ownership of alerts (targets: alert ids)
        "verdict",  # close or escalate alerts (targets: alert ids; fields.verdict)
        "ticket_update",  # create/edit an incident ticket (ticket; fields: sections)
        "report_sent",  # ticket sent or notified to the (simulated) customer
        "response",  # response action (fields.action; targets: [target])
        "hunt_finding",  # finding asserting maliciousness (targets: entities/IoCs)
        "handoff",  # fields.to, fields.items, fields.note checklist
        "kb_view",  # targets: article ids
        "kb_write",  # targets: article ids
        "chat",  # metadata only: targets = entity mentions, fields.mentions = people
        "hint",  # controller nudge: targets = stage ids (the stage becomes assisted)
        "crisis_reply",  # answer to a crisis message (targets: [inject id])
    }
)
VERDICTS = {"tp": True, "escalated": True, "fp": False, "benign": False}
# Ticket fields an update may set; anything else is an input error.
TICKET_TEXT_FIELDS = (
    "context",
    "facts",
    "analysis",
    "conclusion",
    "remediation",
    "impact",
)
TICKET_LIST_FIELDS = (
    "assets",
    "iocs",
    "alerts",
    "techniques",
    "timeline",
    "remediation_actions",
    "kb",
    "mentions",
)
TICKET_FIELDS = frozenset((*TICKET_TEXT_FIELDS, *TICKET_LIST_FIELDS, "severity"))
# ``medium``/``high``... are accepted for ticket severity and map onto the tiers.
SEVERITY_NAMES = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}
GRADES = {"P": 1.0, "S": 0.67, "M": 0.33, "U": 0.0}


@dataclass(frozen=True, slots=True)
class RequiredResponse:
    """A response action the stage expects; critical ones define containment."""

    action: str
    target: str
    containment_critical: bool = True


@dataclass(frozen=True, slots=True)
class Precondition:
    """A ``requires`` condition (``host_online: SRV-FS1``) the stage needs to run."""

    condition: str
    target: str


@dataclass(frozen=True, slots=True)
class Stage:
    """Ground truth of one scenario stage.

    ``entities`` are the affected assets (hosts, accounts, internal IPs; shared with
    benign activity, link strength L3); ``iocs`` are indicators unique to the stage
    (hashes, C2 IPs and domains; L2). ``damage`` is instant business points,
    ``damage_rate`` points per scenario minute for ``duration`` scenario seconds.
    ``executed`` is what a conditional replay recorded (None: evaluate the
    preconditions counterfactually). ``difficulty_b`` is a calibrated item difficulty
    that overrides the label's default.
    """

    id: str
    techniques: tuple[str, ...]
    tactic: str
    tier: str
    scope: str
    entities: tuple[str, ...] = ()
    iocs: tuple[str, ...] = ()
    responses: tuple[RequiredResponse, ...] = ()
    requires: tuple[Precondition, ...] = ()
    damage: float = 0.0
    damage_rate: float = 0.0
    duration: float = 0.0
    unpreventable: bool = False
    difficulty: str = "medium"
    difficulty_b: float | None = None
    impact_terms: tuple[str, ...] = ()
    executed: bool | None = None


@dataclass(frozen=True, slots=True)
class InjectEvidence:
    """The label of one malicious log line: its stage and simulated ``Event.ts``."""

    stage: str | None
    ts: float


@dataclass(frozen=True, slots=True)
class Alert:
    """A SIEM alert with its ground-truth link (``stage`` None: benign/noise)."""

    id: str
    raised_at: float
    stage: str | None = None
    scope: str = ""
    difficulty: str = "medium"


@dataclass(frozen=True, slots=True)
class CrisisMessage:
    """A crisis inject as the team saw it: shown at ``shown_at`` (wall seconds; None
    while control still holds it) with the reply time the scenario expects
    (``reply_within``, operational seconds, never scaled by the speed factor)."""

    id: str
    channel: str
    sender: str
    shown_at: float | None
    reply_within: float | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """One row of the append-only activity log (metadata only; chat text never)."""

    actor: str
    action: str
    at: float
    targets: tuple[str, ...] = ()
    ticket: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketGrade:
    """A controller's HSEEP grade (P/S/M/U) for one free-text ticket field."""

    ticket: str
    field: str
    grade: str
    grader: str = ""


@dataclass(frozen=True, slots=True)
class TeamMember:
    """A participant: role from the role template, time present, shift."""

    id: str
    role: str
    present_seconds: float | None = None
    shift: str = ""


@dataclass(frozen=True, slots=True)
class TeamHistory:
    """What core stability needs from before this exercise (oldest exercise first)."""

    roster_90_days_ago: tuple[str, ...] = ()
    past_exercises: tuple[tuple[str, ...], ...] = ()
    incidents_together: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class KbArticle:
    """A knowledge-base article: its scope and who updated it when (wall seconds)."""

    id: str
    scope: str
    updates: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Exercise:
    """Everything ``score_exercise`` reads about one run."""

    id: str
    scenario: str
    clock: ExerciseClock
    stages: tuple[Stage, ...]
    evidence: Sequence[InjectEvidence] = ()
    alerts: Sequence[Alert] = ()
    activity: Sequence[Activity] = ()
    announced: bool = True
    staffing: str = "staffed"  # or "on_call" (unannounced outside staffed hours)
    critical_assets: frozenset[str] = frozenset()
    technique_tactics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ticket_grades: tuple[TicketGrade, ...] = ()
    integrity_cleared: frozenset[str] = frozenset()
    team: tuple[TeamMember, ...] = ()
    team_history: TeamHistory | None = None
    kb_articles: tuple[KbArticle, ...] = ()
    par_runs: tuple[float, ...] = ()
    crisis: tuple[CrisisMessage, ...] = ()
