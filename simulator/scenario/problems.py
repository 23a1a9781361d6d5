"""What the loader and validator report: problems with a place and a fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario file, located as precisely as the YAML allows.

    ``line`` and ``col`` are 1-based; 0 means "the file as a whole". ``path`` is the
    dotted location inside the document, e.g. ``stages[2].events[0].sensor``.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        summary = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{len(problems)} problem(s): {summary}{more}")


def format_path(path: Path) -> str:
    """``("stages", 2, "events", 0, "sensor")`` → ``stages[2].events[0].sensor``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""`` if none is."""
    options = sorted({c for c in candidates if isinstance(c, str)})
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not matches:
        lowered = {o.lower(): o for o in options}
        matches = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean '{matches[0]}'?)" if matches else ""
