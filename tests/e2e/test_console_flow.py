"""An analyst works a running high-speed drill in the browser, end to end; the
manager follows it in the control cell's live view.

The flow: the analyst signs in and watches the queue; the manager starts the
drill; the first alert appears without a reload within 2 s of being stored; the
analyst searches and pivots, opens an incident from the alert, fills every
section, isolates the host, answers a crisis message and closes the incident;
the manager sees the closed incident in the live view. The activity log then
holds exactly one row per action. Screenshots of every page go to
test-artifacts/ at 1280×720 and on a phone-sized screen.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import ARTIFACTS, open_page, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DESKTOP = {"viewport": {"width": 1280, "height": 720}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
SECTIONS = {
    "context": "Alert on the invoice lure opened by a Finance clerk.",
    "facts": "- Outlook spawned a macro\n- PowerShell reached out to the C2",
    "analysis": "Phishing with a macro dropper; **hands-on-keyboard** follows.",
    "conclusion": "True positive: ransomware precursor, contained at the workstation.",
    "remediation": "Isolate, reimage, reset the clerk's password, block the C2.",
    "impact": "One workstation; payroll share not reached.",
}


def start_drill(manager, platform) -> None:
    page = manager.page
    page.goto(f"/exercises/{platform.exercise_id}")
    page.get_by_role("button", name="Schedule").click()
    page.wait_for_load_state()
    page.get_by_role("button", name=re.compile("^Start exercise")).click()
    page.wait_for_load_state()
    assert "running" in page.inner_text(".facts")


def first_alert_latency(analyst, platform, timeout: float = 90.0) -> float:
    """Seconds between the first alert's commit and its row in the open queue."""
    page = analyst.page
    stored_at = shown_at = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (stored_at is None or shown_at is None):
        now = time.monotonic()
        if stored_at is None and platform.first_alert_id() is not None:
            stored_at = now
        if shown_at is None and page.query_selector("#alert-table tr.alert-row"):
            shown_at = now
        page.wait_for_timeout(50)
    assert stored_at is not None, "the drill raised no alert"
    assert shown_at is not None, "the alert never appeared in the open queue"
    return max(0.0, shown_at - stored_at)


def test_an_analyst_works_a_live_drill_and_control_sees_it(chromium, platform):
    from playwright.sync_api import expect  # installed: the chromium fixture checked

    analyst = open_page(chromium, platform, **DESKTOP)
    manager = open_page(chromium, platform, **DESKTOP)
    sign_in(analyst, "ana")
    sign_in(manager, "mia")
    page = analyst.page

    # The queue is open before the drill starts; the alert must arrive by itself.
    page.goto("/console")
    shot(analyst, "01-queue-empty")
    loaded = page.evaluate("performance.getEntriesByType('navigation').length")
    start_drill(manager, platform)
    latency = first_alert_latency(analyst, platform)
    assert latency <= 2.0, f"the alert took {latency:.2f} s to appear"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loaded
    (ARTIFACTS / "alert-latency.txt").write_text(f"{latency:.3f} s\n")
    shot(analyst, "02-queue-live")

    # Open the first alert and note its host.
    page.click("#alert-table tr.alert-row a.alert-link")
    page.wait_for_url("**/console/alerts/*")
    host = page.inner_text("dl.facts dd:nth-of-type(2)").strip()
    alert_url = page.url
    shot(analyst, "03-alert")

    # Search, then pivot on a value of the results.
    page.goto("/console/search")
    page.fill("#q", f"host:{host}")
    page.select_option("#range", "all")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results table.results-table tbody tr")
    page.wait_for_selector("#histogram")
    page.click("#results button.value[data-field=sensor]")
    expect(page.locator("#q")).to_have_value(re.compile("sensor:"))
    page.wait_for_selector("#results table.results-table tbody tr")
    page.fill("#pivot-field", "sensor")
    page.click("#pivot-form button")
    page.wait_for_selector("#pivot-values li button.value")
    page.click("#results button.open-event")
    page.wait_for_selector("#event-detail .event-detail pre.raw")
    shot(analyst, "04-search-pivot")

    # A bad query shows where it is wrong, and nothing else happens.
    page.fill("#q", "EventID:(4625 OR")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#q-error:not([hidden])")
    assert "character 16" in page.inner_text("#q-error")

    # Open an incident from the alert.
    page.goto(alert_url)
    page.click("form[data-api$='/alerts/escalate'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/incidents/\d+$"))
    incident_url = page.url
    reference = page.inner_text("h1").split(" ")[0]

    # Fill every section, the tags, the assets.
    for name, text in SECTIONS.items():
        page.fill(f"#f-{name}", text)
    page.select_option("#f-severity", "P2")
    page.fill("#technique-pick", "T1566.001 Spearphishing Attachment")
    page.click("#technique-add")
    page.fill("#f-techniques", page.input_value("#f-techniques") + ", T1059.001")
    page.fill("#f-iocs", "198.51.100.23")
    page.fill("#f-assets", f"host {host}")
    with page.expect_navigation():
        page.click("#incident-form button[type=submit]")
    assert "Spearphishing Attachment" in page.inner_text("body")
    assert "hands-on-keyboard" in page.inner_text(".preview")
    shot(analyst, "05-incident")

    # Isolate the host, after a confirmation that names the exercise and target.
    page.select_option("#respond-action", "isolate_host")
    page.fill("#respond-target", host)
    page.click("form.respond button[type=submit]")
    page.wait_for_selector("#confirm-dialog[open]")
    confirmation = page.inner_text("#confirm-text")
    assert host in confirmation and platform.exercise_name in confirmation
    shot(analyst, "06-confirm-isolation")
    page.click("#confirm-ok")
    expect(page.locator("form.respond output")).to_contain_text("done")

    # Answer a crisis message (they arrive as the drill goes on).
    page.goto("/console/inbox")
    page.wait_for_selector("article.crisis form textarea", timeout=90_000)
    page.fill("article.crisis form textarea", "We are on it; next update at 16:00.")
    with page.expect_navigation():
        page.click("article.crisis form button[type=submit]")
    assert "next update at 16:00" in page.inner_text("article.crisis blockquote")
    shot(analyst, "07-inbox")

    # Work the incident to closed.
    page.goto(incident_url)
    for status in ("in_progress", "contained", "resolved", "closed"):
        page.select_option("#status", status)
        with page.expect_navigation():
            page.click("form.workflow button[type=submit]")
        assert page.inner_text("#incident-status") == status.replace("_", " ")
    shot(analyst, "08-incident-closed")

    # The manager follows it in the live view.
    manager.page.goto(f"/exercises/{platform.exercise_id}/live")
    manager.page.wait_for_selector("#live-incidents")
    progress = manager.page.inner_text("#live-incidents")
    assert reference in progress and "closed" in progress
    assert "isolate_host" in manager.page.inner_text("#live")
    shot(manager, "09-control-live")

    # Exactly one activity row per action the analyst took.
    assert platform.activity_counts() == {
        "verdict": 1,  # escalated the alert into the incident
        "ticket_update": 5,  # saved the sections, then four status changes
        "response": 1,  # isolated the host
        "crisis_reply": 1,  # answered the crisis message
    }
    analyst.assert_clean()
    manager.assert_clean()

    # The same pages on a phone-sized screen.
    phone = open_page(chromium, platform, **PHONE)
    sign_in(phone, "bo")
    for name, url in (
        ("phone-queue", "/console"),
        ("phone-incident", incident_url),
        ("phone-search", "/console/search"),
        ("phone-inbox", "/console/inbox"),
    ):
        phone.page.goto(url)
        phone.page.wait_for_load_state("networkidle")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{url} is {width}px wide on a phone"
        shot(phone, name)
    phone.assert_clean()
