"""Rule tuning on recorded exercises: true and false positives per rule, and what
an exception would change.

Ground truth (the SIEM's ``labels``) is read only for exercises that have ended, and
only for the reader's tenants: the counts before and after an exception are taken
from the same events, so a detection engineer sees at once how many true positives an
exception would cost. The exception itself is added with ``siem.tuning.add_exception``
and both rules run through the SIEM's retro-hunt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import yaml
from flask import current_app

from siem.alerts import BUCKET_SECONDS
from siem.detector import retro_hunt
from siem.sigma import LoadedRule, RuleError
from siem.store import EventStore
from siem.tuning import add_exception
from simulator.events import parse_iso
from socdrill import tenancy
from socdrill.console.errors import Invalid, NotFound
from socdrill.extensions import db
from socdrill.models import Exercise, ExerciseState, User
from socdrill.review.tables import Table

MAX_EXCEPTION_BYTES = 10_000
CHUNK = 500


def siem() -> EventStore:
    from socdrill.engine.delivery import siem_store

    return siem_store(current_app._get_current_object())  # type: ignore[attr-defined]


def rules() -> list[LoadedRule]:
    from socdrill.engine.routes import rule_pack

    return rule_pack()


def recorded_exercises(user: User) -> list[str]:
    """SIEM keys of the ended exercises in ``user``'s tenants."""
    statement = tenancy.scoped(sa.select(Exercise.id), Exercise.tenant_id, user).where(
        Exercise.state.in_((ExerciseState.ENDED, ExerciseState.REVIEWED))
    )
    return [str(i) for i in db.session.scalars(statement)]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rule_counts(store: EventStore, exercises: list[str]) -> Table:
    """Per rule: alerts in recorded exercises split by ground truth."""
    counts: dict[str, dict[str, Any]] = {}
    with store.connect() as conn:
        for chunk in _chunks(exercises):
            marks = ",".join("?" * len(chunk))
            rows = conn.exec_driver_sql(
                "SELECT a.id, a.rule_id, a.rule_title, a.event_count, "  # noqa: S608
                "MAX(COALESCE(l.malicious, 0)) FROM alerts a "
                "JOIN alert_events ae ON ae.alert_id = a.id "
                "LEFT JOIN labels l ON l.event_id = ae.event_id "
                f"WHERE a.exercise IN ({marks}) GROUP BY a.id",
                tuple(chunk),
            )
            for _alert, rule_id, title, events, malicious in rows:
                row = counts.setdefault(
                    rule_id,
                    {
                        "rule_id": rule_id,
                        "title": title,
                        "alerts": 0,
                        "true_positives": 0,
                        "false_positives": 0,
                        "events": 0,
                    },
                )
                row["alerts"] += 1
                row["events"] += int(events)
                key = "true_positives" if malicious else "false_positives"
                row[key] += 1
    for row in counts.values():
        row["precision"] = round(row["true_positives"] / row["alerts"], 3)
    ordered = sorted(
        counts.values(), key=lambda r: (-r["false_positives"], r["rule_id"])
    )
    return Table(
        "rules",
        "Alerts per rule in recorded exercises, by ground truth",
        [
            ("rule_id", "Rule"),
            ("title", "Title"),
            ("alerts", "Alerts"),
            ("true_positives", "True positive alerts"),
            ("false_positives", "False positive alerts"),
            ("precision", "Precision"),
            ("events", "Events"),
        ],
        ordered,
    )


@dataclass(frozen=True, slots=True)
class Counts:
    """What a rule raises over the recorded exercises."""

    alerts: int
    true_positive_alerts: int
    false_positive_alerts: int
    events: int
    true_positive_events: int
    false_positive_events: int

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def scoped_counts(
    store: EventStore, event_ids: list[int], exercises: set[str]
) -> Counts:
    """Group the matched events of the recorded exercises into alerts as the SIEM
    would (tenant, host, exercise, time bucket) and split them by ground truth."""
    groups: dict[tuple[str, str, str, int], bool] = {}
    events = tp_events = 0
    with store.connect() as conn:
        for chunk in _chunks(sorted(set(event_ids))):
            marks = ",".join("?" * len(chunk))
            rows = conn.exec_driver_sql(
                "SELECT e.tenant, e.host, e.exercise, e.ts, l.malicious "  # noqa: S608
                "FROM events e "
                "LEFT JOIN labels l ON l.event_id = e.id "
                f"WHERE e.id IN ({marks})",
                tuple(chunk),
            )
            for tenant, host, exercise, ts, malicious in rows:
                if exercise not in exercises:
                    continue
                events += 1
                tp_events += bool(malicious)
                bucket = math.floor(parse_iso(ts) / BUCKET_SECONDS)
                key = (tenant, str(host).lower(), exercise, bucket)
                groups[key] = groups.get(key, False) or bool(malicious)
    tp_alerts = sum(groups.values())
    return Counts(
        alerts=len(groups),
        true_positive_alerts=tp_alerts,
        false_positive_alerts=len(groups) - tp_alerts,
        events=events,
        true_positive_events=tp_events,
        false_positive_events=events - tp_events,
    )


def parse_exception(text: str) -> dict[str, Any]:
    """A Sigma selection from YAML or JSON text, with a clear error otherwise."""
    if len(text.encode("utf-8")) > MAX_EXCEPTION_BYTES:
        raise Invalid(
            f"the exception is longer than {MAX_EXCEPTION_BYTES} bytes",
            {"exception": "too long"},
        )
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise Invalid(
            f"the exception is not valid YAML{where}", {"exception": "not YAML"}
        ) from None
    if not isinstance(value, dict) or not value:
        raise Invalid(
            "the exception maps field names to values, e.g. "
            "'Image|endswith: \\backup.exe'",
            {"exception": "not a mapping"},
        )
    return value


def try_exception(
    user: User, rule_id: str, text: str
) -> tuple[LoadedRule, dict[str, Any], Counts, Counts]:
    """Counts of ``rule_id`` before and after the exception on recorded exercises."""
    rule = next((r for r in rules() if r.id == rule_id), None)
    if rule is None:
        raise NotFound(f"no rule {rule_id!r} in the rule pack", {"rule_id": "unknown"})
    exception = parse_exception(text)
    try:
        tuned = add_exception(rule, exception)
    except RuleError as error:
        raise Invalid(
            f"the exception cannot be added: {error}", {"exception": error.reason}
        ) from None
    store = siem()
    exercises = set(recorded_exercises(user))
    before = retro_hunt(store, [rule]).matches.get(rule.id, [])
    after = retro_hunt(store, [tuned]).matches.get(tuned.id, [])
    return (
        rule,
        exception,
        scoped_counts(store, before, exercises),
        scoped_counts(store, after, exercises),
    )
