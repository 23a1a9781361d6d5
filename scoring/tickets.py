"""B4.2 ticket completeness, and the ticket history every other module reads.

A ticket is replayed from its ``ticket_update`` rows: each update sets the fields it
names (a list field is replaced whole). For list items the book keeps *since when*
an item has been continuously on the ticket, so a reference added before its stage's
inject (a false link) stays discarded until it is removed and added again.

Completeness ``C = Σ v_f·q_f``. ``q_f`` comes from automatic checks where they exist
(present; severity within one tier of the truth; remediation names an expected action
class; impact names the affected service or asset class; timeline covers every
detected stage), and a controller's HSEEP grade P/S/M/U (1/0.67/0.33/0) replaces the
automatic value of a field it grades. No text model ever scores a ticket.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scoring.context import TimedActivity, norm
from scoring.model import GRADES, SEVERITY_NAMES, TICKET_LIST_FIELDS, Stage, TicketGrade
from scoring.settings import TIERS

# Rule-based words that show a remediation text names an action class.
ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "isolate_host": ("isolat", "contain", "network quarantine"),
    "release_host": ("release",),
    "disable_account": ("disable", "lock out", "lockout", "deactivat"),
    "enable_account": ("enable",),
    "reset_password": ("reset", "password change", "change the password"),
    "block_ip": ("block", "deny", "firewall"),
    "unblock_ip": ("unblock",),
    "block_domain": ("block", "sinkhole", "dns deny"),
    "unblock_domain": ("unblock",),
    "kill_process": ("kill", "terminat"),
    "quarantine_file": ("quarantin", "delete the file", "remove the file"),
    "revoke_sessions": ("revoke", "sign out", "session"),
    "disable_access_key": ("access key", "rotate", "deactivat"),
}


def severity_tier(value: str | None) -> int | None:
    """1..4 for P1..P4 (or critical/high/medium/low); None when unset."""
    if value is None:
        return None
    tier = SEVERITY_NAMES.get(value, value)
    return TIERS.index(tier) + 1 if tier in TIERS else None


@dataclass(slots=True)
class TicketVersion:
    """A ticket's state after one update."""

    t: float
    fields: dict[str, Any]
    since: dict[tuple[str, str], tuple[float, str]]  # (field, item) -> (t, actor)
    severe_since: float | None  # severity ≥ Medium (P3) continuously since


class TicketBook:
    """Every ticket's versions in time order, and who edited how often."""

    def __init__(self, activity: Iterable[TimedActivity]) -> None:
        self.versions: dict[str, list[TicketVersion]] = {}
        self.edits: dict[str, Counter[str]] = {}
        self.sent: dict[str, list[float]] = {}
        for item in activity:
            row = item.row
            if row.action == "report_sent" and row.ticket:
                self.sent.setdefault(row.ticket, []).append(item.t)
            if row.action != "ticket_update" or not row.ticket:
                continue
            history = self.versions.setdefault(row.ticket, [])
            self.edits.setdefault(row.ticket, Counter())[row.actor] += 1
            history.append(self._apply(history[-1] if history else None, item))

    @staticmethod
    def _apply(previous: TicketVersion | None, item: TimedActivity) -> TicketVersion:
        fields = dict(previous.fields) if previous else {}
        since = dict(previous.since) if previous else {}
        for key, value in item.row.fields.items():
            fields[key] = list(value) if key in TICKET_LIST_FIELDS else value
            if key in TICKET_LIST_FIELDS:
                keep = {norm(str(v)) for v in value}
                for old in [k for k in since if k[0] == key and k[1] not in keep]:
                    del since[old]
                for ref in keep:
                    since.setdefault((key, ref), (item.t, item.row.actor))
        tier = severity_tier(fields.get("severity"))
        severe = tier is not None and tier <= 3
        if not severe:
            severe_since = None
        elif previous is not None and previous.severe_since is not None:
            severe_since = previous.severe_since
        else:
            severe_since = item.t
        return TicketVersion(item.t, fields, since, severe_since)

    def at(self, ticket: str, t: float) -> TicketVersion | None:
        """The ticket as it stood at active time ``t`` (None before it existed)."""
        history = self.versions.get(ticket, [])
        i = bisect_right([v.t for v in history], t) - 1
        return history[i] if i >= 0 else None

    def final(self, ticket: str) -> TicketVersion:
        """The ticket at ENDEX."""
        return self.versions[ticket][-1]


def _present(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _mentions_action(text: str, actions: Iterable[str]) -> bool:
    lowered = text.casefold()
    for action in actions:
        words = (action.replace("_", " "), *ACTION_WORDS.get(action, ()))
        if any(w in lowered for w in words):
            return True
    return False


def field_scores(
    version: TicketVersion,
    covered: Iterable[Stage],
    detected: set[str],
    timeline_stages: set[str],
    grades: Mapping[str, float],
) -> dict[str, float]:
    """``q_f`` per field for a ticket version covering ``covered`` stages.

    ``detected`` are the ids of covered stages already detected; ``timeline_stages``
    the stages the timeline entries link to; ``grades`` controller grades by field.
    """
    covered = list(covered)
    fields = version.fields
    q: dict[str, float] = {}
    for name in ("context", "facts", "analysis", "conclusion"):
        q[name] = 1.0 if _present(fields.get(name)) else 0.0
    expected = {r.action for s in covered for r in s.responses}
    remediation = fields.get("remediation", "")
    chosen = set(fields.get("remediation_actions", ()))
    if not _present(remediation) and not chosen:
        q["remediation"] = 0.0
    elif not expected or chosen & expected or _mentions_action(remediation, expected):
        q["remediation"] = 1.0
    else:
        q["remediation"] = 0.5
    impact = fields.get("impact", "")
    terms = [t.casefold() for s in covered for t in s.impact_terms]
    if not _present(impact):
        q["impact"] = 0.0
    elif not terms or any(t in impact.casefold() for t in terms):
        q["impact"] = 1.0
    else:
        q["impact"] = 0.5
    reported = severity_tier(fields.get("severity"))
    truth = min((TIERS.index(s.tier) + 1 for s in covered), default=None)
    if reported is None:
        q["severity"] = 0.0
    elif truth is None or abs(reported - truth) <= 1:
        q["severity"] = 1.0
    else:
        q["severity"] = 0.0
    if not fields.get("timeline"):
        q["timeline"] = 0.0
    elif not detected or detected <= timeline_stages:
        q["timeline"] = 1.0
    elif detected & timeline_stages:
        q["timeline"] = 0.5
    else:
        q["timeline"] = 0.0
    q.update(grades)
    return q


def completeness(q: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """``C = Σ v_f·q_f``."""
    return sum(weights[f] * q.get(f, 0.0) for f in weights)


def grades_by_ticket(grades: Iterable[TicketGrade]) -> dict[str, dict[str, float]]:
    """Controller grades as q values per ticket and field; a later grade of the same
    field (a contest upheld, a second look) replaces the earlier one."""
    out: dict[str, dict[str, float]] = {}
    for g in grades:
        out.setdefault(g.ticket, {})[g.field] = GRADES[g.grade]
    return out
