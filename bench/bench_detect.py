"""Detection throughput and latency: the bundled pack and the whole SigmaHQ corpus.

Figures, on a large store (200 k events of simulator noise, 1 M with
``BENCH_FULL=1``):

- streaming detection over fresh 5,000-event micro-batches, with the pre-filter
  (the detector's default on SQLite) and with plain per-rule queries (the
  reference it is compared with), for the pack and for every SigmaHQ rule (plain
  queries of the corpus only with ``BENCH_FULL=1``: half a minute a batch);
- live latency: a writer thread ingests noise at a steady rate (5,000 events/s for
  the pack, 2,000 for the corpus) with an attack every half second while the
  detector ticks in a loop; the time from an attack's insert to its alert;
- a retro-hunt of the pack over the whole store;
- loading the SigmaHQ corpus: converting it, then from the rule cache.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from bench.bench_ingest import bench_size, noise, scratch_store
from siem.corpus import load_corpus
from siem.detector import Detector, retro_hunt
from siem.importers import read_events
from siem.rules import load_pack, rules_dir
from siem.sigma import LoadedRule
from siem.store import EventStore
from simulator.events import Event

BATCH = 5000
BATCHES = 4
FULL = os.environ.get("BENCH_FULL") == "1"
#: Seconds of each live-latency run (``BENCH_FULL=1``: 30).
LIVE_SECONDS = 30 if FULL else 8
#: Seconds between two attacks in a live run.
ATTACK_EVERY = 0.5
SHARED = Path(__file__).resolve().parent.parent.parent / "shared/realworld"
CORPUS = SHARED / "sigmahq-rules"
PAIRS = SHARED / "sigma-regression"

Report = Callable[..., None]


def stream(
    store: EventStore, detector: Detector, tail: list[Event], batches: int
) -> float:
    """Median events/s of ``detector`` over ``batches`` freshly inserted batches."""
    detector.advance_to(store.max_id())
    rates = []
    for index in range(batches):
        store.insert(tail[index * BATCH : (index + 1) * BATCH])
        report = detector.tick()
        rates.append(report.events / report.seconds)
    return statistics.median(rates)


def compare(
    report: Report,
    store: EventStore,
    rules: list[LoadedRule],
    events: list[Event],
    *,
    label: str,
    target: str,
    plain_batches: int = BATCHES,
) -> None:
    """Stream ``rules`` with the pre-filter and (``plain_batches`` > 0) without it;
    print both and the ratio."""
    stamp = time.monotonic_ns()
    fast = Detector(store, rules, name=f"{label}-fast-{stamp}")
    fast_rate = stream(store, fast, events[: BATCHES * BATCH], BATCHES)
    what = f"stream {len(rules)} {label} rules, {BATCH:,}-event batches"
    report(f"{what} (pre-filter)", fast_rate, "events/s", target)
    if plain_batches:
        plain = Detector(store, rules, name=f"{label}-plain-{stamp}", prefilter=False)
        plain_rate = stream(store, plain, events[BATCHES * BATCH :], plain_batches)
        report(f"{what} (plain queries)", plain_rate, "events/s")
        report("  pre-filter speed-up", fast_rate / plain_rate, "x")


# ---------------------------------------------------------------------------
# live latency


@dataclasses.dataclass(slots=True)
class LiveRun:
    """Outcome of a live run: attack latencies and what was ingested."""

    latencies: list[float]
    attacks: int
    events: int
    seconds: float
    backlog: int


def live(
    store: EventStore,
    rules: Sequence[LoadedRule],
    noise_events: list[Event],
    attacks: list[Event],
    *,
    rate: int,
    seconds: float = LIVE_SECONDS,
) -> LiveRun:
    """Ingest ``rate`` events/s with an attack every :data:`ATTACK_EVERY` seconds
    while a detector ticks; measure insert-to-alert time of each attack."""
    detector = Detector(store, rules, name=f"live-{time.monotonic_ns()}")
    detector.advance_to(store.max_id())
    inserted: dict[int, float] = {}  # attack event id -> when its insert returned
    lock = threading.Lock()
    done = threading.Event()
    ingested = 0

    def writer() -> None:
        nonlocal ingested
        step = 0.1
        chunk = max(1, int(rate * step))
        start = time.perf_counter()
        next_attack = start
        position = 0
        while time.perf_counter() - start < seconds:
            tick = time.perf_counter()
            batch = noise_events[position : position + chunk]
            position = (position + chunk) % max(1, len(noise_events) - chunk)
            store.insert(_fresh(batch, f"live{tick}"))
            ingested += len(batch)
            if tick >= next_attack:
                attack = _fresh([attacks[len(inserted) % len(attacks)]], f"atk{tick}")
                span = store.insert(attack)
                with lock:
                    inserted[span.last] = time.perf_counter()
                next_attack += ATTACK_EVERY
            time.sleep(max(0.0, step - (time.perf_counter() - tick)))
        done.set()

    thread = threading.Thread(target=writer, daemon=True)
    started = time.perf_counter()
    thread.start()
    latencies: dict[int, float] = {}
    while not done.is_set() or detector.watermark < store.max_id():
        tick = detector.tick()
        finished = time.perf_counter()
        with lock:
            due = [i for i in inserted if i <= tick.last_id and i not in latencies]
        alerted = _alerted(store, due)
        latencies.update({i: finished - inserted[i] for i in due if i in alerted})
        if not tick.events:
            time.sleep(0.01)
    thread.join()
    elapsed = time.perf_counter() - started
    return LiveRun(
        latencies=sorted(latencies.values()),
        attacks=len(inserted),
        events=ingested,
        seconds=elapsed,
        backlog=store.max_id() - detector.watermark,
    )


def report_live(report: Report, label: str, run: LiveRun, rate: int) -> None:
    """Print a live run: achieved ingest rate, attacks alerted, latencies."""
    report(
        f"live {label} at {rate:,} events/s: ingested",
        run.events / run.seconds,
        "events/s",
    )
    report(f"  attacks alerted / injected ({run.attacks})", len(run.latencies), "")
    if run.latencies:
        p95 = run.latencies[min(len(run.latencies) - 1, int(len(run.latencies) * 0.95))]
        report("  insert-to-alert p50", statistics.median(run.latencies) * 1e3, "ms")
        report("  insert-to-alert p95", p95 * 1e3, "ms", "target < 1,000")
        report("  insert-to-alert max", run.latencies[-1] * 1e3, "ms")


def _fresh(events: Sequence[Event], prefix: str) -> list[Event]:
    now = time.time()
    return [
        dataclasses.replace(e, uid=f"{prefix}-{i}", ts=now)
        for i, e in enumerate(events)
    ]


def _alerted(store: EventStore, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    with store.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT event_id FROM alert_events WHERE event_id IN ({marks})",  # noqa: S608
            tuple(ids),
        )
        return {int(row[0]) for row in rows}


def matching(events: list[Event], rules: Sequence[LoadedRule]) -> list[Event]:
    """The events among ``events`` that some rule alerts on (attack samples)."""
    scratch = EventStore.open("sqlite://")
    try:
        span = scratch.insert(events, on_duplicate="ignore")
        Detector(scratch, rules).tick()
        hit = _alerted(scratch, list(range(span.first, span.last + 1)))
        kept = {s.event.uid for s in scratch.get_many(sorted(hit))}
    finally:
        scratch.close()
    return [e for e in events if e.uid in kept]


def pack_attacks() -> list[Event]:
    """The positive samples of the pack's rule tests."""
    out = []
    for path in sorted((rules_dir() / "tests").glob("*.yml")):
        for index, sample in enumerate(yaml.safe_load(path.read_text())["positive"]):
            logsource = sample.get("logsource") or {}
            out.append(
                Event(
                    f"{path.stem}-{index}",
                    0.0,
                    "sample",
                    str(sample.get("host", "WS-001")),
                    logsource.get("product"),
                    logsource.get("category"),
                    logsource.get("service"),
                    sample["fields"],
                    str(sample.get("raw") or sample["fields"]),
                )
            )
    return out


# ---------------------------------------------------------------------------


def main(report: Report) -> None:
    count = bench_size()
    live_pack, live_corpus = 5000 * LIVE_SECONDS, 2000 * LIVE_SECONDS
    label, events = noise(count + 4 * BATCHES * BATCH + live_pack + live_corpus)
    history, rest = events[:count], events[count:]

    def take(n: int) -> list[Event]:
        nonlocal rest
        taken, rest = rest[:n], rest[n:]
        return taken

    pack = load_pack()
    with tempfile.TemporaryDirectory() as folder:
        store = scratch_store(folder)
        store.insert(history)
        report(f"store for detection: {label}", count, "events")
        compare(
            report,
            store,
            pack,
            take(2 * BATCHES * BATCH),
            label="pack",
            target="target >= 100,000",
        )
        attacks = matching(pack_attacks(), pack)
        run = live(store, pack, take(live_pack), attacks, rate=5000)
        report_live(report, f"{len(pack)} pack rules", run, 5000)
        hunt = retro_hunt(store, pack)
        total = store.count()
        report(
            f"retro-hunt {len(pack)} pack rules over {total:,} events",
            hunt.seconds,
            "s",
        )
        report("retro-hunt time per rule", hunt.seconds / len(pack), "s")
        report(
            "retro-hunt time per event (all rules)", hunt.seconds / total * 1e6, "us"
        )
        if not CORPUS.is_dir():
            report("SigmaHQ corpus not found beside the checkout; skipped", 0, "")
            store.close()
            return
        cache = Path(folder) / "rule-cache"
        cold = load_corpus(CORPUS, cache_dir=cache)
        warm = load_corpus(CORPUS, cache_dir=cache)
        converted = f"{len(warm.rules)}/{len(warm.rules) + len(warm.failures)} rules"
        report(f"load + convert SigmaHQ corpus ({converted})", cold.seconds, "s")
        report("load SigmaHQ corpus from the rule cache", warm.seconds, "s")
        corpus = warm.rules
        started = time.perf_counter()
        compare(
            report,
            store,
            corpus,
            take(2 * BATCHES * BATCH),
            label="SigmaHQ",
            target="target >= 10,000",
            # plain queries take half a minute a batch: only in the full run
            plain_batches=1 if FULL else 0,
        )
        report("  (wall time of both runs)", time.perf_counter() - started, "s")
        samples = [
            e for p in sorted(PAIRS.iterdir()) for e in read_events(p / "events.json")
        ]
        attacks = matching(samples, corpus)
        run = live(store, corpus, take(live_corpus), attacks, rate=2000)
        report_live(report, f"{len(corpus)} SigmaHQ rules", run, 2000)
        store.close()
