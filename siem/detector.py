"""Streaming detection over the event store, and retro-hunts over stored history.

The :class:`Detector` keeps one watermark row (the last event id it has evaluated).
Each :meth:`Detector.tick`:

1. opens a read snapshot and takes ``hi = max(id)``; everything in ``(wm, hi]`` is
   committed and visible (ids are assigned under the write lock), anything inserted
   later has a larger id and waits for the next tick;
2. lists the logsource triples present among the new events and skips every rule
   whose logsource has no new events;
3. with the pre-filter (:class:`siem.prefilter.BatchValues`, SQLite stores), reads
   the distinct values of the fields the rules need, once, skips every rule whose
   needs no new event meets and runs the others on the events that meet them only,
   each field read once per event (:mod:`siem.rulequery`); without it (PostgreSQL,
   or ``prefilter=False``), runs one parameterised query per rule over
   ``id > wm AND id <= hi`` (through the logsource index when the rule sees one
   logsource);
4. in one write transaction, checks the watermark is still ``wm``, folds the hits
   into alerts and moves the watermark to ``hi``.

So no event is evaluated twice and none is skipped, whatever the writers do.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from siem import alerts
from siem.correlation import correlate
from siem.prefilter import BatchValues
from siem.rulequery import rule_query
from siem.sigma import LoadedRule
from siem.store import EventStore, ts_text

Triple = tuple[str, str, str]

_WATERMARK_DDL = (
    "CREATE TABLE IF NOT EXISTS detector_watermarks ("
    "name TEXT PRIMARY KEY, watermark INTEGER NOT NULL)"
)
_HIT_COLUMNS = "id, ts, host, tenant, exercise"


class DetectorError(Exception):
    """The detector cannot proceed (e.g. another detector moved the watermark)."""


@dataclass(slots=True)
class TickReport:
    """What one tick did."""

    first_id: int
    last_id: int
    events: int = 0
    rules_run: int = 0
    rules_skipped: int = 0
    matches: int = 0
    alert_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(slots=True)
class HuntReport:
    """Matches of each rule over a stored range: ``{rule id: [event ids]}``."""

    matches: dict[str, list[int]]
    seconds: float
    per_rule_seconds: dict[str, float]
    alert_ids: list[int] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class _Plan:
    """What the detector does with the new events of one logsource triple."""

    #: indexes of the rules that see the triple
    rules: tuple[int, ...]
    #: JSON keys those rules' needs read
    fields: frozenset[str]
    #: some of those rules need keywords in ``raw``
    keywords: bool


class Detector:
    """Evaluates a rule set on new events; one instance per watermark ``name``."""

    def __init__(
        self,
        store: EventStore,
        rules: Iterable[LoadedRule],
        *,
        name: str = "default",
        bucket_seconds: int = alerts.BUCKET_SECONDS,
        prefilter: bool = True,
    ) -> None:
        """``prefilter=False`` runs plain per-rule queries even on SQLite (the
        reference the pre-filter is compared with)."""
        self.store = store
        self.name = name
        self.bucket_seconds = bucket_seconds
        all_rules = list(rules)
        dialect = getattr(store, "dialect", "sqlite")
        foreign = [r for r in all_rules if getattr(r, "dialect", dialect) != dialect]
        if foreign:
            raise DetectorError(
                f"{len(foreign)} rule(s) were loaded for a {foreign[0].dialect} store "
                f"(e.g. {foreign[0].title!r}) but this store is {dialect}: load them "
                f"with dialect={dialect!r}"
            )
        self.rules = [r for r in all_rules if r.correlation is None]
        # The pre-filter reads the batch with SQLite's JSON functions; other stores
        # run plain per-rule queries.
        sqlite = dialect == "sqlite"
        self.prefilter = sqlite and prefilter
        self.correlations = [r for r in all_rules if r.correlation is not None]
        # per logsource triple: indexes of the rules that see it, the fields they read
        self._plans: dict[Triple, _Plan] = {}
        with store.begin() as conn:
            conn.exec_driver_sql(_WATERMARK_DDL)
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO detector_watermarks (name, watermark) "
                "VALUES (?, 0)",
                (name,),
            )
            alerts.ensure_schema(conn)

    @property
    def watermark(self) -> int:
        """Id of the last event this detector has evaluated."""
        with self.store.connect() as conn:
            return _watermark(conn, self.name)

    def advance_to(self, event_id: int) -> None:
        """Skip history: the next tick starts after ``event_id`` (never moves back)."""
        with self.store.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE detector_watermarks SET watermark = max(watermark, ?) "
                "WHERE name = ?",
                (event_id, self.name),
            )

    def tick(self, *, max_events: int | None = None) -> TickReport:
        """Evaluate every rule on the events stored since the last tick."""
        started = time.perf_counter()
        hits_by_rule: dict[str, list[alerts.Hit]] = {}
        with self.store.connect() as conn, conn.begin():
            wm = _watermark(conn, self.name)
            hi = int(conn.exec_driver_sql("SELECT max(id) FROM events").scalar() or 0)
            if max_events is not None:
                hi = min(hi, wm + max_events)
            report = TickReport(first_id=wm + 1, last_id=max(hi, wm))
            if hi > wm:
                triples = _new_triples(conn, wm, hi)
                report.events = sum(triples.values())
                self._detect(conn, wm, hi, list(triples), hits_by_rule, report)
                self._correlate(conn, wm, hi, hits_by_rule)
        with self.store.begin() as conn:
            current = _watermark(conn, self.name)
            if current != wm:
                raise DetectorError(
                    f"watermark {self.name!r} moved from {wm} to {current} during "
                    "the tick: another detector with the same name is running"
                )
            rules = {r.id: r for r in (*self.rules, *self.correlations)}
            for rule_id, hits in hits_by_rule.items():
                report.alert_ids += alerts.record_hits(
                    conn, rules[rule_id], hits, bucket_seconds=self.bucket_seconds
                )
            conn.exec_driver_sql(
                "UPDATE detector_watermarks SET watermark = ? WHERE name = ?",
                (report.last_id, self.name),
            )
        report.seconds = time.perf_counter() - started
        return report

    def _detect(
        self,
        conn: sa.Connection,
        wm: int,
        hi: int,
        triples: list[Triple],
        hits_by_rule: dict[str, list[alerts.Hit]],
        report: TickReport,
    ) -> None:
        seen: dict[int, list[Triple]] = defaultdict(list)
        for triple in triples:
            for index in self._plan(triple).rules:
                seen[index].append(triple)
        report.rules_skipped = len(self.rules) - len(seen)
        if not self.prefilter:
            for index, rule_triples in sorted(seen.items()):
                rule = self.rules[index]
                report.rules_run += 1
                self._keep(
                    rule,
                    match_rule(conn, rule, rule_triples, lo=wm, hi=hi),
                    hits_by_rule,
                    report,
                )
            return
        plans = {t: self._plan(t) for t in triples}
        values = BatchValues(
            conn,
            wm,
            hi,
            {t: plan.fields for t, plan in plans.items()},
            raw_triples=[t for t, plan in plans.items() if plan.keywords],
        )
        cursor = conn.connection.cursor()
        try:
            for index, rule_triples in sorted(seen.items()):
                rule = self.rules[index]
                ids = values.candidates(rule.needs, rule_triples)
                if ids is not None and not ids:
                    report.rules_skipped += 1
                    continue
                report.rules_run += 1
                hits = _match_batch(cursor, rule, rule_triples, ids, lo=wm, hi=hi)
                self._keep(rule, hits, hits_by_rule, report)
        finally:
            cursor.close()

    def _plan(self, triple: Triple) -> _Plan:
        """Rules that see events of ``triple`` and what their needs read."""
        plan = self._plans.get(triple)
        if plan is None:
            indexes = tuple(
                i for i, rule in enumerate(self.rules) if rule.applies_to(*triple)
            )
            needs = [
                need
                for i in indexes
                for clause in self.rules[i].needs
                for need in clause
            ]
            plan = self._plans[triple] = _Plan(
                rules=indexes,
                fields=frozenset(field for field, _ in needs if field is not None),
                keywords=any(field is None for field, _ in needs),
            )
        return plan

    @staticmethod
    def _keep(
        rule: LoadedRule,
        hits: list[alerts.Hit],
        hits_by_rule: dict[str, list[alerts.Hit]],
        report: TickReport,
    ) -> None:
        if hits:
            hits_by_rule[rule.id] = hits
            report.matches += len(hits)

    def _correlate(
        self,
        conn: sa.Connection,
        wm: int,
        hi: int,
        hits_by_rule: dict[str, list[alerts.Hit]],
    ) -> None:
        if not self.correlations:
            return
        first, last = conn.exec_driver_sql(
            "SELECT min(ts), max(ts) FROM events WHERE id > ? AND id <= ?", (wm, hi)
        ).one()
        if first is None:
            return
        for rule in self.correlations:
            hits = correlate(conn, rule, first, last, new_after_id=wm)
            if hits:
                hits_by_rule[rule.id] = hits


# ---------------------------------------------------------------------------
# queries


def match_rule(
    conn: sa.Connection,
    rule: LoadedRule,
    triples: Sequence[Triple],
    *,
    lo: int | None = None,
    hi: int | None = None,
    start: str | None = None,
    end: str | None = None,
    ids: Sequence[int] | None = None,
) -> list[alerts.Hit]:
    """Events matching a detection rule among those of ``triples``.

    ``lo < id <= hi`` bounds by id (streaming), ``start <= ts < end`` by time (hunts),
    ``ids`` restricts to given events (pre-filtered candidates).
    """
    if not triples:
        return []
    where: list[str] = []
    params: list[object] = []
    if len(triples) == 1:
        source = "events INDEXED BY ix_events_logsource"
        where.append("product = ? AND category = ? AND service = ?")
        params += triples[0]
    else:
        source = "events NOT INDEXED" if lo is not None else "events"
        values = ", ".join("(?, ?, ?)" for _ in triples)
        where.append(f"(product, category, service) IN (VALUES {values})")
        params += [part for triple in triples for part in triple]
    if ids is not None:
        source = "events"
        where = ["id IN (SELECT value FROM json_each(?))"] + where
        params = [orjson.dumps(list(ids)).decode(), *params]
    if lo is not None:
        where.append("id > ?")
        params.append(lo)
    if hi is not None:
        where.append("id <= ?")
        params.append(hi)
    if start is not None:
        where.append("ts >= ?")
        params.append(start)
    if end is not None:
        where.append("ts < ?")
        params.append(end)
    sql = (
        f"SELECT {_HIT_COLUMNS} FROM {source} "  # noqa: S608 - fragments from rules
        f"WHERE {' AND '.join(where)} AND {rule.fragment}"
    )
    rows = conn.exec_driver_sql(sql, tuple(params))
    return [
        alerts.Hit(int(i), ts, host, tenant, ex) for i, ts, host, tenant, ex in rows
    ]


def _match_batch(
    cursor: Any,
    rule: LoadedRule,
    triples: Sequence[Triple],
    ids: set[int] | None,
    *,
    lo: int,
    hi: int,
) -> list[alerts.Hit]:
    """Events of ``triples`` in ``lo < id <= hi`` (or only ``ids``) matching a
    detection rule, each field read once per event (:mod:`siem.rulequery`).

    SQLite only: a DB-API cursor, without SQLAlchemy's per-statement overhead.
    """
    query = rule_query(rule.fragment)
    if ids is None:
        sql = query.by_range(len(triples))
        params: tuple[object, ...] = (lo, hi, *[p for t in triples for p in t])
    else:
        sql = query.by_ids()
        params = (orjson.dumps(sorted(ids)).decode(),)
    rows = cursor.execute(sql, params).fetchall()
    if query.grouped:
        matched = [int(i) for (group,) in rows for i in group.split(",")]
        if not matched:
            return []
        rows = cursor.execute(
            f"SELECT {_HIT_COLUMNS} FROM events NOT INDEXED "  # noqa: S608
            "WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (orjson.dumps(matched).decode(),),
        ).fetchall()
    return [
        alerts.Hit(int(i), ts, host, tenant, ex) for i, ts, host, tenant, ex in rows
    ]


def retro_hunt(
    store: EventStore,
    rules: Iterable[LoadedRule],
    *,
    start: float | str | None = None,
    end: float | str | None = None,
    record: bool = False,
    bucket_seconds: int = alerts.BUCKET_SECONDS,
) -> HuntReport:
    """Run ``rules`` over every stored event (or ``start <= ts < end``).

    With ``record`` the hits become alerts, as the streaming detector would make.
    """
    lo = ts_text(start) if start is not None else None
    hi = ts_text(end) if end is not None else None
    started = time.perf_counter()
    matches: dict[str, list[alerts.Hit]] = defaultdict(list)
    per_rule: dict[str, float] = {}
    rule_list = list(rules)
    with store.connect() as conn, conn.begin():
        triples = [
            (p, c, s)
            for p, c, s in conn.exec_driver_sql(
                "SELECT DISTINCT product, category, service FROM events"
            )
        ]
        for rule in rule_list:
            t0 = time.perf_counter()
            if rule.correlation is not None:
                bounds = conn.exec_driver_sql(
                    "SELECT min(ts), max(ts) FROM events"
                ).one()
                if bounds[0] is not None:
                    matches[rule.id] = correlate(
                        conn, rule, lo or bounds[0], hi or bounds[1]
                    )
            else:
                seen = [t for t in triples if rule.applies_to(*t)]
                matches[rule.id] = match_rule(conn, rule, seen, start=lo, end=hi)
            per_rule[rule.id] = time.perf_counter() - t0
    report = HuntReport(
        matches={
            rid: sorted(h.event_id for h in hits) for rid, hits in matches.items()
        },
        seconds=time.perf_counter() - started,
        per_rule_seconds=per_rule,
    )
    if record:
        by_id = {r.id: r for r in rule_list}
        with store.begin() as conn:
            alerts.ensure_schema(conn)
            for rule_id, hits in matches.items():
                if hits:
                    report.alert_ids += alerts.record_hits(
                        conn, by_id[rule_id], hits, bucket_seconds=bucket_seconds
                    )
    return report


def _watermark(conn: sa.Connection, name: str) -> int:
    value = conn.exec_driver_sql(
        "SELECT watermark FROM detector_watermarks WHERE name = ?", (name,)
    ).scalar()
    if value is None:
        raise DetectorError(f"no watermark named {name!r}")
    return int(value)


def _new_triples(conn: sa.Connection, wm: int, hi: int) -> dict[Triple, int]:
    rows = conn.exec_driver_sql(
        "SELECT product, category, service, count(*) FROM events NOT INDEXED "
        "WHERE id > ? AND id <= ? GROUP BY product, category, service",
        (wm, hi),
    )
    return {(p, c, s): int(n) for p, c, s, n in rows}
