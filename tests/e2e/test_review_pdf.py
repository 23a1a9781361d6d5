"""The printable after-action report, saved to PDF by a real browser.

A live server on the loopback address serves a scored exercise (the specification's
worked example); Chromium signs in as the team's lead, opens the report, prints it
with the print stylesheet and saves a PDF, which must have pages and the report's
text, with the exercise marker. Debian's chromium is used as installed; a missing
browser fails the test in CI and skips it elsewhere.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from socdrill import create_app
from socdrill.extensions import db
from socdrill.models import Exercise
from socdrill.review import records
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, missing
from tests.web.conftest import FAST_HASH, PASSWORD, World
from tests.web.test_review_support import ReviewWorld

pytestmark = pytest.mark.e2e


def _browser_or_skip() -> None:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")


def _module(name: str, package: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"{name} is missing: pip install '{package}'")


@pytest.fixture
def live(tmp_path, monkeypatch) -> Iterator[tuple[str, int]]:
    """A scored exercise served on 127.0.0.1; yields the base URL and its id."""
    _browser_or_skip()
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-only-secret",
            "PASSWORD_HASH_METHOD": FAST_HASH,
        }
    )
    with app.app_context():
        db.create_all()
        world = World()
        review = ReviewWorld(app, world)
        exercise = review.end(world.exercise_a)
        records.score(db.session.get(Exercise, exercise.id), world.lead)
        exercise_id = exercise.id
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", exercise_id
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def _keep_error(message: object, errors: list[str]) -> None:
    """Console errors of the page (the browser's own favicon probe aside)."""
    if getattr(message, "type", "") != "error":
        return
    location = getattr(message, "location", {}) or {}
    if str(location.get("url", "")).endswith("/favicon.ico"):
        return
    errors.append(str(getattr(message, "text", message)))


def test_the_after_action_report_prints_to_a_pdf_with_its_text(live, tmp_path):
    sync_api = _module("playwright.sync_api", "playwright>=1.45")
    pypdf = _module("pypdf", "pypdf>=5,<7")
    base, exercise_id = live
    pdf_path = tmp_path / "after-action-report.pdf"
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.on("console", lambda message: _keep_error(message, errors))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login")
            page.fill("#username", "lead")
            page.fill("#password", PASSWORD)
            page.click("form.stack button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{base}/review/exercises/{exercise_id}/report")
            # The charts are drawn (no animation) before the page is printed.
            page.wait_for_selector("html[data-charts-ready=true]", timeout=15_000)
            page.emulate_media(media="print")
            page.pdf(path=str(pdf_path), format="A4", print_background=True)
        finally:
            browser.close()
    assert not errors, f"the page logged errors (CSP or script): {errors}"
    reader = pypdf.PdfReader(str(pdf_path))
    assert len(reader.pages) >= 2
    # Line breaks fall where the paper ends; compare words, not layout.
    text = " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split())
    for expected in (
        "[EXERCISE]",
        "After-action report and improvement plan",
        "Timeline against the SLA",
        "What was missed and why",
        "svc_backup",
        "Areas for improvement",
        "Improvement plan",
    ):
        assert expected in text, expected
    # The print stylesheet leaves navigation and forms off the paper.
    assert "Sign out" not in text and "Real-world emergency" not in text
