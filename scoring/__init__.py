"""Scoring contract v1: timings, triage, tickets, damage, skills, cohesion.

Pure Python, plain data in and out; never imports Flask, ``socdrill`` or ``siem``.
"""

from scoring.clock import ClockSegment, ExerciseClock
from scoring.errors import ScoringInputError
from scoring.model import (
    SPEC_VERSION,
    Activity,
    Alert,
    CrisisMessage,
    Exercise,
    InjectEvidence,
    KbArticle,
    Precondition,
    RequiredResponse,
    Stage,
    TeamHistory,
    TeamMember,
    TicketGrade,
)
from scoring.report import score_exercise
from scoring.settings import DEFAULT_SETTINGS, Settings

__all__ = [
    "DEFAULT_SETTINGS",
    "SPEC_VERSION",
    "Activity",
    "Alert",
    "ClockSegment",
    "CrisisMessage",
    "Exercise",
    "ExerciseClock",
    "InjectEvidence",
    "KbArticle",
    "Precondition",
    "RequiredResponse",
    "ScoringInputError",
    "Settings",
    "Stage",
    "TeamHistory",
    "TeamMember",
    "TicketGrade",
    "score_exercise",
]
