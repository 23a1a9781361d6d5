"""Where things are in a scenario file, so every problem can name file:line:col."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.scenario.problems import Path, Problem, format_path

Position = tuple[int, int]  # 1-based line and column


@dataclass(slots=True)
class SourceMap:
    """Positions of the keys and values of one YAML document, by document path."""

    file: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position:
        """Position of ``path`` (its key when ``key``), else of its nearest ancestor."""
        probe = tuple(path)
        if key and probe in self.keys:
            return self.keys[probe]
        while probe:
            if probe in self.values:
                return self.values[probe]
            if probe in self.keys:
                return self.keys[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        """A :class:`Problem` at ``path`` with ``message``."""
        line, col = self.locate(path, key=key)
        return Problem(self.file, line, col, format_path(path), message)
