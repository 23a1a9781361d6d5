"""Typed SQLAlchemy models, split by domain; importing this package registers them.

Models know nothing of requests: tenancy, RBAC and auditing live at the edges.
"""

from socdrill.models.activity import Activity
from socdrill.models.audit import AppendOnlyError, AuditEntry
from socdrill.models.base import Base, utcnow
from socdrill.models.exercises import (
    CatchUpPolicy,
    Exercise,
    ExerciseApproval,
    ExerciseClockSegment,
    ExerciseEvent,
    ExerciseState,
    InjectInstance,
    InjectState,
    TrustedAgent,
)
from socdrill.models.people import (
    ApiToken,
    Job,
    Membership,
    Role,
    Shift,
    Team,
    User,
    team_tenants,
)
from socdrill.models.tenants import NoiseProfile, Tenant

__all__ = [
    "Activity",
    "ApiToken",
    "AppendOnlyError",
    "AuditEntry",
    "Base",
    "CatchUpPolicy",
    "Exercise",
    "ExerciseApproval",
    "ExerciseClockSegment",
    "ExerciseEvent",
    "ExerciseState",
    "InjectInstance",
    "InjectState",
    "Job",
    "Membership",
    "NoiseProfile",
    "Role",
    "Shift",
    "Team",
    "Tenant",
    "TrustedAgent",
    "User",
    "team_tenants",
    "utcnow",
]
