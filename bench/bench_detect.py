"""Detection throughput: the bundled pack and the whole SigmaHQ corpus, streaming.

Figures: streaming detection of the bundled rule pack over 5,000-event micro-batches
on a large store (200 k events, 1 M with ``BENCH_FULL=1``), with the pre-filter and
with plain per-rule queries; a retro-hunt of the pack over the whole store; loading
the whole SigmaHQ corpus; streaming detection with every convertible SigmaHQ rule.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_ingest import bench_size, noise, scratch_store
from siem.corpus import load_corpus
from siem.detector import Detector, retro_hunt
from siem.rules import load_pack
from siem.store import EventStore
from simulator.events import Event

BATCH = 5000
BATCHES = 4
CORPUS = (
    Path(__file__).resolve().parent.parent.parent / "shared/realworld/sigmahq-rules"
)


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


def main(report: Callable[..., None]) -> None:
    count = bench_size()
    label, events = noise(count + 3 * BATCHES * BATCH)
    history = events[:count]
    tails = [
        events[count + i * BATCHES * BATCH : count + (i + 1) * BATCHES * BATCH]
        for i in range(3)
    ]
    pack = load_pack()
    with tempfile.TemporaryDirectory() as folder:
        store = scratch_store(folder)
        store.insert(history)
        report(f"store for detection: {label}", count, "events")
        for prefilter, name in ((True, "pre-filter"), (False, "plain queries")):
            detector = Detector(store, pack, name=name, prefilter=prefilter)
            rate = stream(store, detector, tails.pop(0), BATCHES)
            report(
                f"stream {len(pack)} pack rules, {BATCH:,}-event batches ({name})",
                rate,
                "events/s",
                "target >= 100,000",
            )
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
        corpus = load_corpus(CORPUS)
        report(
            f"load + convert SigmaHQ corpus ({len(corpus.rules)}/"
            f"{len(corpus.rules) + len(corpus.failures)} rules)",
            corpus.seconds,
            "s",
        )
        detector = Detector(store, corpus.rules, name="corpus")
        started = time.perf_counter()
        rate = stream(store, detector, tails.pop(0), BATCHES)
        report(
            f"stream all {len(corpus.rules)} SigmaHQ rules, {BATCH:,}-event batches",
            rate,
            "events/s",
            "target >= 10,000",
        )
        report("  (wall time of that run)", time.perf_counter() - started, "s")
        store.close()
