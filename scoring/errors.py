"""The one error the scorer raises for input it cannot use."""

from __future__ import annotations


class ScoringInputError(ValueError):
    """Bad scoring input: ``path`` says where (``activity[3].fields.verdict``), the
    message says what was wrong and what would be right. Nothing is scored."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
