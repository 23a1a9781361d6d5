"""Room names and who may join them.

Rooms: ``tenant:<id>`` (SIEM alerts of a tenant), ``team:<id>`` (crisis messages
and team notices), ``exercise:<id>`` (what participants may know of a drill),
``exercise:<id>:control`` (ground truth and the team's progress, for control) and
``user:<id>`` (one person's sockets). Every join is authorised from the database
with the same tenancy and role rules as the pages; a room nobody may know about
is refused exactly like one that does not exist.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from socdrill import tenancy
from socdrill.extensions import db
from socdrill.models import Exercise, Membership, Role, User

ROOM = re.compile(r"^(tenant|team|user|exercise):([0-9]{1,12})(:control)?$")
CONTROL = frozenset({Role.ADMIN, Role.MANAGER})
WATCHERS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST, Role.OBSERVER})


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def may_join(user: User, room: str) -> bool:
    """May ``user`` (signed in and active) receive the events of ``room``?"""
    match = ROOM.match(room) if isinstance(room, str) else None
    if match is None or not user.active:
        return False
    kind, number, control = match.group(1), int(match.group(2)), match.group(3)
    if control and kind != "exercise":
        return False
    if kind == "user":
        return number == user.id
    if kind == "tenant":
        return user.role in WATCHERS and _in_scope(user, number)
    if kind == "team":
        return user.role == Role.ADMIN or _member(user, number)
    exercise = db.session.get(Exercise, number)
    if exercise is None or not _in_scope(user, exercise.tenant_id):
        return False
    if control:
        return user.role in CONTROL
    return user.role in WATCHERS and tenancy.exercise_visible(exercise, user)


def _in_scope(user: User, tenant_id: int) -> bool:
    ids = tenancy.visible_tenant_ids(user)
    return ids is None or tenant_id in ids


def _member(user: User, team_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.team_id == team_id,
                Membership.left_at.is_(None),
            )
        )
        is not None
    )
