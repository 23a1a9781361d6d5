"""The alert queue page, its live table fragment and the alert page."""

from __future__ import annotations

from flask import render_template, request

from simulator import vocabulary
from socdrill.console import bp, responding, siem_access, triage
from socdrill.console.scope import colleagues, me, tenants_of
from socdrill.models import AlertStatus, Verdict

PAGE_SIZE = 100


def _filter() -> triage.QueueFilter:
    args = request.args
    levels = [v for v in args.getlist("severity") if v in siem_access.LEVELS]
    known = {status.value for status in AlertStatus}
    statuses = [AlertStatus(v) for v in args.getlist("status") if v in known]
    if "status" not in args:
        # The queue's default: what still needs a decision.
        statuses = [AlertStatus.NEW, AlertStatus.ACKNOWLEDGED]
    return triage.QueueFilter(
        tenant=args.get("tenant", "")[:40],
        levels=levels,
        statuses=statuses,
        rule=args.get("rule", "")[:200].strip(),
        host=args.get("host", "")[:255].strip(),
        assignee=args.get("assignee", "")[:64].strip(),
    )


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


@bp.get("/console")
def index() -> str:
    """The alert queue: live, filtered, grouped, with bulk actions and shortcuts."""
    user = me()
    wanted = _filter()
    page = triage.queue(
        user, wanted, limit=PAGE_SIZE, offset=(_page_number() - 1) * PAGE_SIZE
    )
    return render_template(
        "console/queue.html",
        page=page,
        wanted=wanted,
        page_number=_page_number(),
        page_size=PAGE_SIZE,
        tenants=tenants_of(user),
        people=colleagues(user),
        levels=siem_access.LEVELS,
        statuses=list(AlertStatus),
        verdicts=list(Verdict),
    )


@bp.get("/console/alerts/rows")
def alert_rows() -> str:
    """The queue's table and counts (HTMX swaps this in on every live update)."""
    user = me()
    wanted = _filter()
    page = triage.queue(
        user, wanted, limit=PAGE_SIZE, offset=(_page_number() - 1) * PAGE_SIZE
    )
    return render_template(
        "console/_queue_rows.html",
        page=page,
        wanted=wanted,
        page_number=_page_number(),
        page_size=PAGE_SIZE,
    )


@bp.get("/console/alerts/<int:alert_id>")
def alert(alert_id: int) -> str:
    user = me()
    view = triage.alert_view(user, alert_id)
    tenants = [siem_access.tenant_key(t) for t in tenants_of(user)]
    event_ids = siem_access.alert_event_ids(alert_id)[:200]
    events = siem_access.get_events(event_ids, tenants)
    return render_template(
        "console/alert.html",
        view=view,
        events=events,
        people=colleagues(user),
        verdicts=list(Verdict),
        actions=sorted(vocabulary.RESPONSE_ACTIONS),
        labels=responding.ACTION_LABELS,
    )
