"""Benchmarks run by ``make bench``. They print figures; they never assert timings.

Each ``bench/bench_*.py`` module defines ``main(report)``; ``report(name, value, unit,
target)`` prints one aligned line.
"""

from __future__ import annotations


def report(name: str, value: float, unit: str, target: str = "") -> None:
    """Print one figure: name, value, unit and the target it is compared with."""
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    print(f"{name:<58} {shown:>14} {unit:<10} {target}", flush=True)
