"""Paths to the scenario fixtures and a small builder for scenario text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "scenarios"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"
DESIGN_EXAMPLE = FIXTURES / "design_example.yaml"


@pytest.fixture
def minimal_text() -> str:
    return (GOOD / "minimal.yaml").read_text(encoding="utf-8")


def good_files() -> list[Path]:
    return sorted(GOOD.glob("*.yaml"))
