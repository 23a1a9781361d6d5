"""An XSS corpus typed into every free-text field of the console (ticket sections,
chat, knowledge base) and a team name: no dialog opens, no script runs and the
browser reports no Content-Security-Policy violation on any page that shows them."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import open_page, shot, sign_in

pytestmark = [pytest.mark.e2e]

CORPUS = (
    "<script>alert('s1')</script>",
    '"><img src=x onerror=alert("s2")>',
    "<svg/onload=alert('s3')>",
    "[click](javascript:alert('s4'))",
    "<a href=\"javascript:alert('s5')\">link</a>",
    "<iframe srcdoc=\"<script>alert('s6')</script>\"></iframe>",
    "{{7*7}} {% raw %}${alert('s7')}{% endraw %}",
    "<style>body{display:none}</style>"
    "<div style=\"background:url(javascript:alert('s8'))\">",
    "</textarea><script>alert('s9')</script>",
    "<details open ontoggle=alert('s10')>",
)
PAYLOAD = "\n".join(CORPUS)


def test_the_xss_corpus_is_shown_as_text_everywhere(chromium, platform):
    watched = open_page(chromium, platform, viewport={"width": 1280, "height": 720})
    sign_in(watched, "xavier")
    page = watched.page

    # Team name (set up with the corpus) appears in the channel's heading.
    page.goto("/console/chat")
    assert "<script>alert('team')</script>" in page.inner_text("h1")

    # Chat.
    page.fill("#chat-body", PAYLOAD)
    page.click("#chat-form button[type=submit]")
    page.wait_for_selector("#chat-messages li.message")
    assert "alert('s1')" in page.inner_text("#chat-messages")
    shot(watched, "xss-chat")

    # Knowledge base: title and markdown body.
    page.goto("/console/kb/new")
    page.fill("#kb-title", CORPUS[1])
    page.fill("#kb-body", PAYLOAD)
    with page.expect_navigation():
        page.click("form[data-api] button[type=submit]")
    assert re.search(r"/console/kb/\d+$", page.url)
    assert CORPUS[1] in page.inner_text("h1")
    article = page.url
    shot(watched, "xss-kb")
    page.goto("/console/kb")
    page.goto(article + "/edit")

    # An incident with the corpus in its title and every section.
    page.goto("/console/incidents/new")
    page.fill("#title", CORPUS[2])
    page.fill("#context", PAYLOAD)
    with page.expect_navigation():
        page.click("form[data-api] button[type=submit]")
    for name in ("facts", "analysis", "conclusion", "remediation", "impact"):
        page.fill(f"#f-{name}", PAYLOAD)
    with page.expect_navigation():
        page.click("#incident-form button[type=submit]")
    page.fill("#note-text", PAYLOAD)
    with page.expect_navigation():
        page.click("form[data-api$='/notes'] button[type=submit]")
    page.fill("#recipient", "soc@customer.example")
    page.fill("#report-message", PAYLOAD)
    with page.expect_navigation():
        page.click("form[data-api$='/reports'] button[type=submit]")
    incident = page.url
    shot(watched, "xss-incident")
    page.click("a[href*='/reports/']")
    page.wait_for_selector("article.customer-report")
    assert "[EXERCISE]" in page.inner_text("article.customer-report")
    shot(watched, "xss-report")

    for url in ("/console/incidents", incident, "/console", "/console/search"):
        page.goto(url)
        page.wait_for_load_state("networkidle")

    # Nothing ran: no alert dialog, no violation, and no injected element exists.
    assert page.evaluate("document.querySelectorAll('iframe, svg[onload]').length") == 0
    watched.assert_clean()

    # The watch itself works: an injected inline script is refused and reported,
    # and a dialog would have been seen.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran === true") is False
    assert watched.csp_violations(), "the CSP violation was not reported"
    page.evaluate("() => alert('seen')")
    assert watched.dialogs == ["alert: seen"]
