"""Shared fixtures: paths, the Flask app, its test client and CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REALWORLD = SHARED / "realworld"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """A component a test needs is absent: fail under CI, skip elsewhere with why.

    CI installs every component (``.ci/run``), so a skip there would hide a missing
    install step.
    """
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must install it before the tests)")
    pytest.skip(reason)


# Debian's browser, driven by Playwright; never `playwright install`.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium, launched by Playwright (per module: a test that starts
    Playwright itself must not find another sync instance running)."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        missing("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    from socdrill import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test-only-secret"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
