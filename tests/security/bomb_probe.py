"""Helpers run in a child process by the bounded-input tests (a memory cap and a
deadline protect the test run if a bomb goes off)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from socdrill.extensions import db
from socdrill.models import Job, Role


def post_rule_exception(exception: str) -> Any:
    """Status and seconds of the rule-tuning API for ``exception`` (a team lead
    asks; the app is built first, outside the timing)."""
    from socdrill.engine.routes import rule_pack
    from tests.security.conftest import security_app
    from tests.web.conftest import Browser, make_team, make_tenant, make_user
    from tests.web.test_console_support import Api

    monkeypatch = pytest.MonkeyPatch()
    app = security_app(Path(os.environ["SOCDRILL_INSTANCE"]), monkeypatch)
    with app.app_context():
        team = make_team("Probe team", make_tenant("probe"))
        make_user("probe-lead", Role.LEAD, team=team, job=Job.LEAD)
        rule_id = next(rule.id for rule in rule_pack() if rule.correlation is None)
        browser = Browser(app.test_client())
        browser.login("probe-lead")
        api = Api(browser)
        started = time.monotonic()
        response = api.post(
            "/api/v1/review/rules/try", {"rule_id": rule_id, "exception": exception}
        )
        seconds = time.monotonic() - started
        db.session.remove()
        return {"status": response.status_code, "seconds": seconds}
