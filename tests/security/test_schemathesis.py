"""Schemathesis against ``/api/openapi.json``, in-process on the WSGI app, once per
role with that role's API token: no answer is a 5xx, every status is one the
document lists, every body matches its schema.

Kept small (a few examples per operation) so the suite stays quick; raise
``SOCDRILL_FUZZ_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import os
import re
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from socdrill.models import Role
from tests.security.conftest import build_security_world, security_app

EXAMPLES = int(os.environ.get("SOCDRILL_FUZZ_EXAMPLES", "4"))
TOKEN = re.compile(r"sdt_[A-Za-z0-9_\-]{40,}")
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    from socdrill.extensions import db

    monkeypatch = pytest.MonkeyPatch()
    app = security_app(tmp_path_factory.mktemp("fuzz"), monkeypatch)
    with app.app_context():
        world = build_security_world(app)
        tokens = {}
        for role in Role:
            page = world.browser(app, role).post("/account/tokens", {"name": "fuzz"})
            tokens[role] = TOKEN.search(page.get_data(as_text=True)).group(0)
        db.session.commit()
        yield app, tokens
        db.session.remove()
        db.engine.dispose()
    monkeypatch.undo()


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 40
    return found


def test_the_api_answers_as_documented_for_every_role(fuzzed, caplog):
    app, tokens = fuzzed
    failures: list[str] = []
    for operation in operations(app):
        try:
            fuzz(operation, tokens, failures)()
        except (Exception, BaseExceptionGroup):  # noqa: S112  (recorded in failures)
            continue
    crashes = sorted(
        {
            f"{record.exc_info[0].__name__} at {our_frame(record.exc_info[2])}"
            for record in caplog.records
            if record.exc_info and record.exc_info[0] is not None
        }
    )
    assert not failures, "\n".join([*sorted(set(failures)), *crashes])


def fuzz(operation, tokens, failures: list[str]):
    """A hypothesis test of one operation, calling it as each role in turn."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def exercise(case) -> None:
        for role, token in tokens.items():
            try:
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
                )
            except (Exception, BaseExceptionGroup) as failure:  # grouped check failures
                message = (
                    " | ".join(
                        line.strip()
                        for line in str(failure).splitlines()
                        if line.strip().startswith(("-", "[", "Undocumented", "Server"))
                    )[:400]
                    or repr(failure)[:400]
                )
                failures.append(f"{operation.label} as {role}: {message}")
                raise

    return exercise


def our_frame(trace) -> str:
    """The innermost frame of the platform's own code in a traceback."""
    frames = [f for f in traceback.extract_tb(trace) if "/socdrill/" in f.filename]
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{frame.filename.split('/socdrill/', 1)[-1]}:{frame.lineno} ({frame.name})"
