"""Measures of B8 taken from the activity log's metadata.

Only meaningful actions count (ack, verdict, ticket edit, response, KB write,
hand-off); chat contributes who-mentioned-what, never its text or its volume.
Per-person counts exist only inside this module, to compute team-level measures.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping

from scoring.cohesion import (
    HANDOFF_CHECKLIST,
    CohesionMeasures,
    Handoff,
    pair_familiarity,
)
from scoring.context import Context, TimedActivity, norm
from scoring.links import LinkEvent
from scoring.reporting import TicketResult
from scoring.settings import DAY
from scoring.stats import quantile
from scoring.tickets import TicketBook

MEANINGFUL = frozenset(
    {"ack", "verdict", "ticket_update", "response", "kb_write", "handoff"}
)


def _refs(item: TimedActivity) -> set[str]:
    row = item.row
    refs = {norm(t) for t in row.targets}
    if row.ticket:
        refs.add(norm(row.ticket))
    if row.action == "handoff":
        refs |= {norm(str(i)) for i in row.fields.get("items", ())}
    return refs


def _participation(ctx: Context) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    settings = ctx.settings
    present = [
        m
        for m in ctx.exercise.team
        if (ctx.t_end if m.present_seconds is None else m.present_seconds) > 0
    ]
    if len(present) < 2:
        return None
    counts: dict[str, int] = defaultdict(int)
    for item in ctx.activity:
        if item.row.action in MEANINGFUL:
            counts[item.row.actor] += 1
    rates = [
        counts[m.id] / (ctx.t_end if m.present_seconds is None else m.present_seconds)
        for m in present
    ]
    total_rate = sum(rates)
    if total_rate == 0:
        return None
    expected = [settings.role_shares[m.role] for m in present]
    total_expected = sum(expected)
    return (
        tuple(r / total_rate for r in rates),
        tuple(e / total_expected for e in expected),
    )


def _cross_referenced(
    ctx: Context, book: TicketBook
) -> tuple[set[str], dict[str, float]]:
    """Tickets with a cross-reference, and the first time each item was shared."""
    tickets_with_xref: set[str] = set()
    shared_at: dict[str, float] = {}
    for item in ctx.activity:
        row = item.row
        mentions = row.fields.get("mentions") if row.action != "ticket_update" else None
        if row.action == "handoff":
            for i in row.fields.get("items", ()):
                tickets_with_xref.add(norm(str(i)))
                shared_at.setdefault(norm(str(i)), item.t)
        if row.ticket and (mentions or row.action == "handoff"):
            tickets_with_xref.add(norm(row.ticket))
        if row.action == "chat":
            for ref in row.targets:
                shared_at.setdefault(norm(ref), item.t)
    for ticket, versions in book.versions.items():
        for version in versions:
            if version.fields.get("mentions"):
                tickets_with_xref.add(norm(ticket))
            for (_, ref), (since, _) in version.since.items():
                shared_at[ref] = min(since, shared_at.get(ref, since))
    return tickets_with_xref, shared_at


def _information_sharing(
    ctx: Context,
    book: TicketBook,
    links: list[LinkEvent],
    incidents: list[TicketResult],
) -> tuple[float | None, float | None, float | None]:
    settings = ctx.settings
    xref, shared_at = _cross_referenced(ctx, book)
    contributors: dict[str, set[str]] = defaultdict(set)
    for item in ctx.activity:
        if item.row.ticket:
            contributors[norm(item.row.ticket)].add(item.row.actor)
    multi = [t for t in incidents if len(contributors[norm(t.ticket)]) >= 2]
    coverage = (
        sum(norm(t.ticket) in xref for t in multi) / len(multi) if multi else None
    )
    touches: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for item in ctx.activity:
        row = item.row
        if row.action in ("ack", "verdict", "hunt_finding"):
            for ref in row.targets:
                touches[norm(ref)].append((item.t, row.actor))
    duplicated = 0
    for ref, seq in touches.items():
        seq.sort()
        for (t1, a1), (t2, a2) in zip(seq, seq[1:], strict=False):
            if a1 != a2 and t2 - t1 <= settings.duplicate_window:
                if shared_at.get(ref, float("inf")) > t2:
                    duplicated += 1
                break
    duplicate_rate = duplicated / len(touches) if touches else None
    latencies = []
    first_found: dict[str, tuple[float, str]] = {}
    for e in links:
        if e.qualifying and e.level > 1:
            first_found.setdefault(norm(e.ref), (e.t, e.actor))
    later_actors: dict[str, set[str]] = defaultdict(set)
    for item in ctx.activity:
        for ref in _refs(item):
            found = first_found.get(ref)
            if found and item.t > found[0] and item.row.actor != found[1]:
                later_actors[ref].add(item.row.actor)
    for ref, (t0, _) in first_found.items():
        if later_actors[ref]:
            t1 = shared_at.get(ref)
            latencies.append((ctx.t_end if t1 is None else max(t1, t0)) - t0)
    return coverage, duplicate_rate, quantile(latencies, 0.5)


def _handoffs(ctx: Context) -> tuple[Handoff, ...]:
    settings = ctx.settings
    out = []
    acts = ctx.activity
    # Where each item is touched, so a hand-off only looks at its own items' rows.
    touches: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(acts):
        for ref in _refs(item):
            touches[ref].append(i)
    for i, item in enumerate(acts):
        row = item.row
        if row.action != "handoff":
            continue
        receiver = str(row.fields["to"])
        items = {norm(str(x)) for x in row.fields.get("items", ())}
        note = row.fields.get("note", {})
        if isinstance(note, Mapping) and "completeness" in note:
            completeness = float(note["completeness"])
        elif isinstance(note, Mapping):
            completeness = sum(bool(note.get(k)) for k in HANDOFF_CHECKLIST) / len(
                HANDOFF_CHECKLIST
            )
        else:
            completeness = 0.0
        reacquire = None
        touched: set[str] = set()
        for ref in items:
            positions = touches.get(ref, [])
            for j in positions[bisect_right(positions, i) :]:
                later = acts[j]
                if later.t - item.t <= settings.dropped_after:
                    touched.add(ref)
                if later.row.actor == receiver:
                    latency = later.t - item.t
                    reacquire = (
                        latency if reacquire is None else min(reacquire, latency)
                    )
                    break
        window_over = ctx.t_end - item.t > settings.dropped_after
        if window_over and items - touched:
            completeness = 0.0  # an open item was dropped
        out.append(Handoff(completeness, reacquire))
    return tuple(out)


def measure(
    ctx: Context,
    book: TicketBook,
    links: list[LinkEvent],
    incidents: list[TicketResult],
    qualified: Mapping[str, set[str]],
) -> CohesionMeasures:
    """All measures of B8 for this exercise (``qualified``: analyst → scopes)."""
    settings = ctx.settings
    exercise = ctx.exercise
    roster = [m.id for m in exercise.team]
    participation = _participation(ctx)
    coverage, duplicate_rate, latency = _information_sharing(
        ctx, book, links, incidents
    )
    core = turnover = newcomers = familiarity = None
    history = exercise.team_history
    if history is not None and roster:
        present_now = {
            m.id
            for m in exercise.team
            if m.present_seconds is None or m.present_seconds > 0
        }
        window = [set(p) for p in history.past_exercises[-3:]] + [present_now]
        core = sum(sum(m in p for p in window) >= 3 for m in roster) / len(roster)
        then = set(history.roster_90_days_ago)
        if then:
            turnover = len(then - set(roster)) / len(then)
            newcomers = len(set(roster) - then) / len(roster)
        familiarity = pair_familiarity(
            roster, history.past_exercises, history.incidents_together
        )
    ended = exercise.clock.ended_at or 0.0
    writers_recent: set[str] = set()
    holders: dict[str, set[str]] = defaultdict(set)
    for article in exercise.kb_articles:
        for actor, at in article.updates:
            if ended - at <= settings.kb_breadth_days * DAY:
                writers_recent.add(actor)
            if ended - at <= settings.kb_recent_days * DAY:
                holders[article.scope].add(actor)
    for item in ctx.activity:
        if item.row.action == "kb_write":
            writers_recent.add(item.row.actor)
    for analyst, scopes in qualified.items():
        for scope in scopes:
            holders[scope].add(analyst)
    scopes = {s.scope for s in ctx.stages.values()} | set(holders)
    truck = {
        s: len(holders[s] & set(roster)) if roster else len(holders[s]) for s in scopes
    }
    reuse = (
        sum(bool(book.final(t.ticket).fields.get("kb")) for t in incidents)
        / len(incidents)
        if incidents
        else None
    )
    breadth = len(writers_recent & set(roster)) / len(roster) if roster else None
    return CohesionMeasures(
        shares=participation[0] if participation else None,
        expected=participation[1] if participation else None,
        collaborative_coverage=coverage,
        duplicate_rate=duplicate_rate,
        propagation_latency=latency,
        handoffs=_handoffs(ctx),
        core=core,
        turnover_90=turnover,
        newcomer_share=newcomers,
        pair_familiarity=familiarity,
        kb_reuse=reuse,
        kb_breadth=breadth,
        truck_factors=truck,
    )
