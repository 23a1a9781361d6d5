"""Seeded random streams that stay stable when unrelated parts of a scenario change."""

from __future__ import annotations

import hashlib
import random


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from SHA-256 of ``parts`` (never Python's salted ``hash``)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def stable_rng(*parts: object) -> random.Random:
    """A ``random.Random`` seeded by :func:`stable_seed` of ``parts``.

    ``stable_rng(seed, scenario_id, stage_id)`` gives each stage its own stream, so
    editing one stage does not reshuffle the others.
    """
    return random.Random(stable_seed(*parts))
