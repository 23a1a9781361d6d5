"""Browser tests: the real platform (`socdrill serve`, engine and live updates) in a
subprocess on 127.0.0.1, driven by Playwright through Debian's chromium.

Never `playwright install`: the browser is the system's /usr/bin/chromium. Without
it the tests are skipped with the reason, except under CI=true, where a missing
browser fails the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct horse battery staple"
SECRET_KEY = "e2e-only-secret-key-0123456789abcdef"
SPEED = 300.0
# Records what a page must never do: run injected script or break the CSP.
WATCH_PAGE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
XSS_TEAM = "Blue <script>alert('team')</script> <img src=x onerror=alert(9)>"


@dataclass
class Platform:
    """A served platform and what the tests need to know about it."""

    base_url: str
    instance: Path
    exercise_id: int
    exercise_name: str
    tenant_slug: str
    xss_team: str

    def sqlite(self, name: str) -> sqlite3.Connection:
        """A read-only connection to one of the instance's databases."""
        path = self.instance / name
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)

    def activity_counts(self) -> dict[str, int]:
        with contextlib.closing(self.sqlite("socdrill.db")) as conn:
            rows = conn.execute(
                "SELECT kind, count(*) FROM activities WHERE exercise_id = ? "
                "GROUP BY kind",
                (self.exercise_id,),
            ).fetchall()
        return dict(rows)

    def first_alert_id(self) -> int | None:
        with contextlib.closing(self.sqlite("siem.db")) as conn:
            try:
                row = conn.execute(
                    "SELECT min(id) FROM alerts WHERE tenant = ?", (self.tenant_slug,)
                ).fetchone()
            except sqlite3.OperationalError:
                return None  # the alert table is created at the first detection
        return row[0] if row else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCDRILL_")}
    env.update(
        {
            "SOCDRILL_INSTANCE": str(instance),
            "SOCDRILL_SECRET_KEY": SECRET_KEY,
            "SOCDRILL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SOCDRILL_ENGINE_TICK_SECONDS": "0.25",
            "SOCDRILL_ENGINE_NOISE_SCALE": "0.05",
            "SOCDRILL_LOGIN_LIMIT_PER_IP": "1000 per minute",
        }
    )
    return env


SETUP = """
import sys
from pathlib import Path
from flask_migrate import upgrade
from socdrill import accounts, create_app
from socdrill.database import write_transaction
from socdrill.exercise.planning import create_draft, read_scenario_file
from socdrill.extensions import db
from socdrill.models import Job, Role

PASSWORD, SCENARIO, XSS_TEAM = sys.argv[1], Path(sys.argv[2]), sys.argv[4]
SPEED = float(sys.argv[3])
app = create_app()
with app.app_context():
    upgrade()
    with write_transaction():
        tenant = accounts.create_tenant("acme", "Acme Finance", actor=None)
        team = accounts.create_team("Blue Team", actor=None)
        accounts.assign_tenant(team, tenant, actor=None, assigned=True)
        def person(name, role, job=None, launch=False, member_of=team):
            user, _ = accounts.create_user(
                name, role, actor=None, password=PASSWORD, can_launch=launch
            )
            accounts.join_team(user, member_of, actor=None, job=job)
            return user
        manager = person("mia", Role.MANAGER, launch=True)
        person("ana", Role.ANALYST, Job.L1_MONITORING)
        person("bo", Role.ANALYST, Job.L2_INVESTIGATION)
        other = accounts.create_tenant("xss-lab", "XSS lab", actor=None)
        xss_team = accounts.create_team(XSS_TEAM, actor=None)
        accounts.assign_tenant(xss_team, other, actor=None, assigned=True)
        person("xavier", Role.ANALYST, Job.L1_MONITORING, member_of=xss_team)
        exercise = create_draft(
            actor=manager,
            name="Payroll ransomware drill",
            tenant=tenant,
            team=team,
            scenario=read_scenario_file(SCENARIO, 512 * 1024),
            seed=20240601,
            speed_factor=SPEED,
        )
    print(exercise.id, exercise.name)
"""


@pytest.fixture(scope="module")
def platform(chromium, tmp_path_factory) -> Iterator[Platform]:
    """A fresh instance (migrated schema, a team, a drill) under `socdrill serve`."""
    instance = tmp_path_factory.mktemp("e2e") / "instance"
    env = _environment(instance)
    setup = subprocess.run(
        [
            sys.executable,
            "-c",
            SETUP,
            PASSWORD,
            str(ROOT / "scenarios" / "ransomware-finance.yml"),
            str(SPEED),
            XSS_TEAM,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    exercise_id, exercise_name = setup.stdout.strip().splitlines()[-1].split(" ", 1)
    port = _free_port()
    log = (instance / "serve.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("socdrill")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, server)
        ARTIFACTS.mkdir(exist_ok=True)
        yield Platform(
            base_url, instance, int(exercise_id), exercise_name, "acme", XSS_TEAM
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
        log.close()
        shutil.copy(instance / "serve.log", ARTIFACTS / "serve.log")


def _wait_until_up(base_url: str, server: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"socdrill serve exited with {server.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/login", timeout=2) as answer,  # noqa: S310
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise AssertionError("socdrill serve did not answer within 60 s")


class Watched:
    """A browser page that records dialogs, CSP violations and console errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def csp_violations(self) -> list[str]:
        found = self.page.evaluate("window.__cspViolations || []")
        policy = [m for m in self.console_errors if "Content Security Policy" in m]
        return [*found, *policy]

    def assert_clean(self) -> None:
        assert self.dialogs == [], self.dialogs
        assert self.csp_violations() == [], self.csp_violations()


def open_page(chromium: Any, platform: Platform, **context_options: Any) -> Watched:
    context = chromium.new_context(base_url=platform.base_url, **context_options)
    context.add_init_script(WATCH_PAGE)
    context.set_default_timeout(15_000)
    return Watched(context.new_page())


def sign_in(watched: Watched, username: str) -> None:
    page = watched.page
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard*")


def shot(watched: Watched, name: str) -> None:
    watched.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
