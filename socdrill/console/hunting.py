"""Hunting findings: a value the analyst asserts is malicious (``hunt_finding``)."""

from __future__ import annotations

from socdrill.console.activity import Done, Recorder
from socdrill.console.scope import exercise_in_play_for_tenant
from socdrill.console.searching import event_detail, scope_tenant


def record_finding(
    recorder: Recorder, tenant_slug: str, value: str, event_id: int | None
) -> Done:
    """Record the finding for the exercise in play on the tenant (if any)."""
    actor = recorder.actor
    if event_id is not None:
        tenant, _event = event_detail(actor, event_id)
    else:
        tenant = scope_tenant(tenant_slug, actor)
    recorder.record(
        exercise_in_play_for_tenant(tenant.id, actor),
        "hunt_finding",
        [value],
        target_type="entity",
        fields={"event_id": event_id} if event_id is not None else {},
    )
    return Done(f"finding {value!r} recorded", {"value": value, "tenant": tenant.slug})
