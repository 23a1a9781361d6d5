"""Named failpoints for crash tests: ``SOCDRILL_FAILPOINT=name`` kills the process.

At a failpoint the process ends at once with ``os._exit(137)`` (what a ``kill -9``
looks like to its parent): no ``finally`` blocks, no commit, no flush. With
``SOCDRILL_FAILPOINT_SKIP=N`` the first N passes survive. Unset, a failpoint costs
one dictionary lookup.

Names in use: ``after_claim`` (an inject is claimed, its transaction not yet
committed), ``after_commit_before_emit`` (committed, live updates not yet sent),
``during_endex`` (inside the ENDEX transaction).
"""

from __future__ import annotations

import os
import sys
import threading

ENV_NAME = "SOCDRILL_FAILPOINT"
ENV_SKIP = "SOCDRILL_FAILPOINT_SKIP"
EXIT_CODE = 137
KNOWN = frozenset({"after_claim", "after_commit_before_emit", "during_endex"})

_passes: dict[str, int] = {}
_lock = threading.Lock()


def hit(name: str) -> None:
    """End the process here if the failpoint ``name`` is armed."""
    if os.environ.get(ENV_NAME) != name:
        return
    with _lock:
        count = _passes.get(name, 0)
        _passes[name] = count + 1
    skip = int(os.environ.get(ENV_SKIP, "0") or 0)
    if count < skip:
        return
    sys.stderr.write(f"failpoint {name} reached: exiting with {EXIT_CODE}\n")
    sys.stderr.flush()
    os._exit(EXIT_CODE)
