"""Route-level access control: ONE allow-table, deny by default.

Every endpoint is listed with the roles that may call it. An endpoint missing from
the table is refused for everyone, admins included, and tests/web/test_rbac.py fails
for any route nobody classified. Object-level checks (tenant scope, trusted agents,
the launch grant) come on top, in the routes and in socdrill/exercise/.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from socdrill.models import Role
from socdrill.responses import wants_json

PUBLIC = frozenset({"public"})

ADMIN = frozenset({Role.ADMIN})
CONTROL = frozenset({Role.ADMIN, Role.MANAGER})
EVERYONE = frozenset(Role)
# People who may stop an exercise: control, and trusted agents among the players.
STOPPERS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST})
WATCHERS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST, Role.OBSERVER})
PLAYERS = frozenset({Role.ANALYST, Role.LEAD})
# The console's read side: players, control, and observers (read-only).
READERS = WATCHERS
# Review: who opens a debrief (analysts only after ENDEX, for their own part), who
# runs it, the team's lead (individual data) and HR (aggregates only).
REVIEWERS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD, Role.ANALYST})
DEBRIEF_LEADS = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD})
TEAM_LEADS = frozenset({Role.ADMIN, Role.LEAD})
LEADS = frozenset({Role.LEAD})
HR_ONLY = frozenset({Role.HR})

ALLOW: dict[str, frozenset[str]] = {
    "static": PUBLIC,
    "main.index": PUBLIC,
    "main.dashboard": EVERYONE,
    # accounts
    "auth.login": PUBLIC,
    "auth.logout": EVERYONE,
    "auth.password": EVERYONE,
    "auth.tokens": EVERYONE,
    "auth.token_create": EVERYONE,
    "auth.token_revoke": EVERYONE,
    # administration
    "admin.users": ADMIN,
    "admin.user_create": ADMIN,
    "admin.user_update": ADMIN,
    "admin.teams": ADMIN,
    "admin.team_create": ADMIN,
    "admin.team": ADMIN,
    "admin.member_add": ADMIN,
    "admin.member_remove": ADMIN,
    "admin.team_tenant": ADMIN,
    "admin.shift_create": ADMIN,
    "admin.tenants": ADMIN,
    "admin.tenant_create": ADMIN,
    "admin.tenant_update": ADMIN,
    # exercise control
    "control.exercises": WATCHERS,
    "control.exercise": WATCHERS,
    "control.exercise_new": CONTROL,
    "control.schedule": CONTROL,
    "control.approve": CONTROL,
    "control.trusted_agent": CONTROL,
    "control.start": CONTROL,
    "control.pause": CONTROL,
    "control.resume": CONTROL,
    "control.speed": CONTROL,
    "control.endex": STOPPERS,
    "control.review": CONTROL,
    "control.live": STOPPERS,  # control cell and trusted agents (checked per exercise)
    # the analyst console (pages read; every change goes through the JSON API)
    "console.index": READERS,
    "console.emergency": EVERYONE,
    "console.alert_rows": READERS,
    "console.alert": READERS,
    "console.search": READERS,
    "console.search_results": READERS,
    "console.event": READERS,
    "console.incidents": READERS,
    "console.incident_new": PLAYERS,
    "console.incident": READERS,
    "console.incident_report": READERS,
    "console.inbox": READERS,
    "console.kb": READERS,
    "console.kb_new": PLAYERS,
    "console.kb_article": READERS,
    "console.kb_edit": PLAYERS,
    "console.chat": READERS,
    "console.chat_messages": READERS,
    # JSON API (bearer tokens or the session)
    "api.me": EVERYONE,
    "api.exercises": WATCHERS,
    "api.exercise": WATCHERS,
    "api.exercise_events": WATCHERS,
    "api_docs.openapi_document": PUBLIC,
    # JSON API: alert queue
    "api.alerts": READERS,
    "api.alert": READERS,
    "api.alerts_ack": PLAYERS,
    "api.alerts_assign": PLAYERS,
    "api.alerts_close": PLAYERS,
    "api.alerts_escalate": PLAYERS,
    # JSON API: search, pivots, saved searches, hunting findings
    "api.search_events": READERS,
    "api.search_histogram": READERS,
    "api.search_top": READERS,
    "api.event": READERS,
    "api.saved_searches": READERS,
    "api.saved_search_create": READERS,
    "api.saved_search_delete": READERS,
    "api.finding": PLAYERS,
    # JSON API: incidents (SIRP)
    "api.incident_list": READERS,
    "api.incident_create": PLAYERS,
    "api.incident": READERS,
    "api.incident_update": PLAYERS,
    "api.incident_status": PLAYERS,
    "api.incident_note": PLAYERS,
    "api.incident_assignees": PLAYERS,
    "api.incident_handoff": PLAYERS,
    "api.incident_report": PLAYERS,
    # JSON API: response actions and the crisis inbox
    "api.response_preview": PLAYERS,
    "api.response_perform": PLAYERS,
    "api.inbox": READERS,
    "api.inbox_reply": PLAYERS,
    # JSON API: knowledge base and team channel
    "api.kb_list": READERS,
    "api.kb_create": PLAYERS,
    "api.kb_article": READERS,
    "api.kb_update": PLAYERS,
    "api.kb_view": PLAYERS,
    "api.chat_messages": READERS,
    "api.chat_post": PLAYERS,
    # JSON API: the control cell (trusted agents: live view and ENDEX only)
    "api.exercise_live": STOPPERS,
    "api.exercise_activity": STOPPERS,
    "api.exercise_pause": CONTROL,
    "api.exercise_resume": CONTROL,
    "api.exercise_speed": CONTROL,
    "api.exercise_endex": STOPPERS,
    "api.exercise_hint": CONTROL,
    "api.exercise_crisis": CONTROL,
    "api.exercise_crisis_release": CONTROL,
    # the exercise engine (control only: ground truth)
    "engine.dry_run": CONTROL,
    "engine.exercise_play": CONTROL,
    # review: debrief, after-action report, exports (object checks in
    # socdrill/review/access.py: participants after ENDEX, their own part only)
    "review.index": REVIEWERS | {Role.HR},
    "review.debrief": REVIEWERS,
    "review.report": REVIEWERS,
    "review.export": REVIEWERS,
    "review.score": DEBRIEF_LEADS,
    "review.grade": CONTROL,
    "review.integrity": CONTROL,
    "review.action_create": DEBRIEF_LEADS,
    "review.action_update": DEBRIEF_LEADS,
    "review.contest": PLAYERS,
    "review.contest_resolve": LEADS,
    "review.mine": PLAYERS,
    "review.team": TEAM_LEADS,
    "review.team_export": TEAM_LEADS,
    "review.hr": HR_ONLY,
    "review.hr_export": HR_ONLY,
    "review.hr_request": HR_ONLY,
    # rule tuning: detection engineering happens in the lead's and control's seats
    "review.rules": DEBRIEF_LEADS,
    "review.rules_export": DEBRIEF_LEADS,
    "review.rules_try": DEBRIEF_LEADS,
    "review_api.debrief": REVIEWERS,
    "review_api.export": REVIEWERS,
    "review_api.score": DEBRIEF_LEADS,
    "review_api.grade": CONTROL,
    "review_api.integrity": CONTROL,
    "review_api.action_create": DEBRIEF_LEADS,
    "review_api.action_update": DEBRIEF_LEADS,
    "review_api.contest": PLAYERS,
    "review_api.contest_resolve": LEADS,
    "review_api.my_view": PLAYERS,
    "review_api.team_view": TEAM_LEADS,
    "review_api.hr_view": HR_ONLY,
    "review_api.hr_request": HR_ONLY,
    "review_api.rule_counts": DEBRIEF_LEADS,
    "review_api.rule_try": DEBRIEF_LEADS,
}


def allowed(endpoint: str | None, role: Role | None) -> bool:
    """May ``role`` (``None``: anonymous) call ``endpoint``?"""
    if endpoint is None:
        return False
    roles = ALLOW.get(endpoint)
    if roles is None:
        return False
    return roles is PUBLIC or (role is not None and role in roles)


def enforce() -> Response | None:
    """Refuse the request unless the allow-table lets the caller in."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route: Flask answers 404 or 405
    roles = ALLOW.get(endpoint)
    if roles is None:
        abort(403)
    if roles is PUBLIC:
        return None
    if not current_user.is_authenticated:
        if wants_json() or request.method not in ("GET", "HEAD"):
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in roles:
        abort(403)
    return None
