"""Run every benchmark module (or those named on the command line)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"# socdrill bench — {time.strftime('%Y-%m-%d')} — {os.cpu_count()} cores, "
        f"{mem:.0f} GiB, Python {platform.python_version()}"
    )
    for name in names:
        print(f"## {name[len('bench_') :]}", flush=True)
        importlib.import_module(f"bench.{name}").main(bench.report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
