"""Which actions reference which stage, and how strongly (B2 link strength).

- **L1**: an alert whose ground truth is the stage;
- **L2**: an indicator unique to the stage (hash, C2 IP or domain);
- **L3**: a shared entity (host, account) that also appears in benign activity.

Every reference is a *link event*. Only some assert maliciousness and can be a
detection: a TP/escalated verdict, a ticket of severity ≥ Medium, a hunting finding,
a response action. Acknowledgements, other verdicts and chat mentions are link
events too, so that a false link before the inject is seen and logged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from scoring.context import Context, norm
from scoring.model import VERDICTS
from scoring.tickets import TicketBook

TICKET_LINK_FIELDS = ("alerts", "assets", "iocs")


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """One reference from the activity log to a stage."""

    stage: str
    level: int  # 1, 2 or 3
    t: float  # active seconds
    actor: str
    source: str  # the action type, or "ticket"
    ref: str
    qualifying: bool  # asserts maliciousness, so it can be the detection


class RefIndex:
    """Resolves alert ids, IoCs and entities to the stages they link, with level."""

    def __init__(self, ctx: Context) -> None:
        self._by_ref: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for stage in ctx.stages.values():
            for ioc in stage.iocs:
                self._by_ref[norm(ioc)].append((stage.id, 2))
            for entity in stage.entities:
                self._by_ref[norm(entity)].append((stage.id, 3))
        self._alert_stage = ctx.alert_stage

    def resolve(self, ref: str, *, alerts_only: bool = False) -> list[tuple[str, int]]:
        """Stages linked by ``ref`` (an alert id resolves to level 1)."""
        key = norm(ref)
        stage = self._alert_stage.get(key)
        found = [(stage, 1)] if stage is not None else []
        if not alerts_only:
            found.extend(self._by_ref.get(key, ()))
        return found

    def stages_of(self, refs: Iterable[str]) -> set[str]:
        """Every stage any of ``refs`` links to."""
        return {stage for ref in refs for stage, _ in self.resolve(str(ref))}


def collect_links(ctx: Context, book: TicketBook, index: RefIndex) -> list[LinkEvent]:
    """All link events of the exercise in time order."""
    events: list[LinkEvent] = []
    for item in ctx.activity:
        row = item.row
        action = row.action
        if action in ("ack", "verdict"):
            qualifying = action == "verdict" and VERDICTS[row.fields["verdict"]]
            alerts_only = True
        elif action in ("response", "hunt_finding"):
            qualifying, alerts_only = True, False
        elif action == "chat":
            qualifying, alerts_only = False, False
        else:
            continue
        for ref in row.targets:
            for stage, level in index.resolve(ref, alerts_only=alerts_only):
                events.append(
                    LinkEvent(stage, level, item.t, row.actor, action, ref, qualifying)
                )
    for versions in book.versions.values():
        seen: set[tuple[str, str, float, bool]] = set()
        for version in versions:
            for (name, ref), (since, actor) in version.since.items():
                if name not in TICKET_LINK_FIELDS:
                    continue
                for stage, level in index.resolve(ref, alerts_only=name == "alerts"):
                    times = [(since, False)]
                    if version.severe_since is not None:
                        times.append((max(since, version.severe_since), True))
                    for t, qualifying in times:
                        key = (stage, ref, t, qualifying)
                        if key in seen:
                            continue
                        seen.add(key)
                        events.append(
                            LinkEvent(stage, level, t, actor, "ticket", ref, qualifying)
                        )
    events.sort(key=lambda e: e.t)
    return events
