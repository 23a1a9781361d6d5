"""The scoring end-to-end drill, played and scripted: everything but the scores.

:func:`play_and_score` starts the ``scoring-drill`` scenario at 60x in the past,
ticks the engine at explicit past instants, writes one benign administrator script
into the exercise's SIEM, pauses the drill at active minute 45 (also in the past),
lets a scripted analyst work through the JSON API with a personal token during the
pause, resumes, lets the actor's return fall due, ends the exercise and scores it
through the API. It returns what the test compares with its hand computation: the
score document as the manager reads it, and the ground truth of the run.
"""

from __future__ import annotations

import base64
import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient

from siem.rules import pack_files
from simulator.environment import Organisation
from simulator.sensors import SENSORS
from simulator.sensors.base import SensorContext
from socdrill.engine.delivery import siem_store, write_events
from socdrill.engine.runtime import uid_prefix
from socdrill.engine.ticker import Engine
from socdrill.exercise import lifecycle
from socdrill.extensions import db
from socdrill.models import EngineRuntime, StageOutcomeRecord, utcnow
from tests.conftest import ROOT
from tests.web.conftest import Browser
from tests.web.test_api_tokens import bearer, create_token
from tests.web.test_engine_support import make_drill, run, siem_rows, start

SCENARIO = ROOT / "tests" / "fixtures" / "scenarios" / "good" / "scoring-drill.yaml"
TENANT = "acme"
SPEED = 60.0  # scenario seconds per active second
MINUTE = 60.0
# Control pauses the drill at this active second; the team works during the pause.
PAUSED_AT = 45 * MINUTE
# The benign administrator script runs at this scenario second.
ADMIN_SCRIPT_AT = 3 * MINUTE
ADMIN_SCRIPT = "Get-Service -Name Spooler | Restart-Service -Force"
CUSTOMER = "soc-contact@customer.example"


@dataclass(frozen=True)
class ScoredDrill:
    """What the run produced, as plain data."""

    document: dict[str, Any]  # the score document, as the manager reads it
    bound: dict[str, str]  # scenario role → the organisation's name for it
    admin_host: str  # where the benign administrator script ran
    queue_rules: list[str]  # rule name of every alert in the queue, sorted
    alert_stages: dict[str, set[str]]  # alert (by script name) → its stages
    outcomes: dict[str, str]  # stage → fired / prevented
    activity: list[dict[str, Any]]  # the activity log, as the control API gives it


class Api:
    """The JSON API as a script uses it: a bearer token, and an Idempotency-Key on
    every call that changes something."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = bearer(token)
        self._keys: Iterator[int] = itertools.count(1)

    def get(self, path: str, **query: Any) -> Any:
        response = self.client.get(
            f"/api/v1{path}", query_string=query, headers=self.headers
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {**self.headers, "Idempotency-Key": f"drill-{next(self._keys)}"}
        response = self.client.open(
            f"/api/v1{path}", method=method, json=body or {}, headers=headers
        )
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        return response.get_json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.send("POST", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.send("PATCH", path, body)


def api_for(app: Flask, username: str) -> Api:
    """An API client for ``username`` with a token made on the account page."""
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return Api(app.test_client(), create_token(browser, name="drill script"))


# --- the benign administrator script ---------------------------------------------


def b64utf16(text: str) -> str:
    """What ``-EncodedCommand`` takes: Base64 of the UTF-16LE script."""
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def admin_workstation(runtime: EngineRuntime) -> tuple[str, str]:
    """(host, DOMAIN\\user) of an IT administrator's own workstation that plays no
    part in the attack: where the benign management script runs."""
    bound = set(runtime.bindings.values())
    for user in runtime.organisation["users"]:
        host = user.get("workstation")
        if user["is_admin"] and user["sam"] not in bound and host and host not in bound:
            return host, user["domain_user"]
    raise AssertionError("the organisation has no spare administrator workstation")


def write_admin_script(app: Flask, exercise_id: int, runtime: EngineRuntime) -> str:
    """Write a benign encoded PowerShell started by the management agent into the
    exercise's SIEM, the way the engine writes events (no ground-truth label: it is
    not the attack). Returns the host it ran on."""
    host, user = admin_workstation(runtime)
    org = Organisation.from_dict(runtime.organisation)
    ctx = SensorContext(org=org, rng=random.Random(exercise_id))  # noqa: S311
    event = SENSORS["sysmon"].event(
        uid=f"{uid_prefix(exercise_id)}admin-script",
        ts=runtime.origin + ADMIN_SCRIPT_AT,
        kind="process_creation",
        host=org.host(host),
        values={
            "User": user,
            "ParentImage": r"C:\Windows\CCM\CcmExec.exe",
            "Image": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            "CommandLine": "powershell.exe -NoProfile -ExecutionPolicy Bypass "
            f"-EncodedCommand {b64utf16(ADMIN_SCRIPT)}",
        },
        ctx=ctx,
    )
    write_events(siem_store(app), [event], [], tenant=TENANT, exercise=str(exercise_id))
    return host


# --- the alert queue and its ground truth ----------------------------------------


def rule_names() -> dict[str, str]:
    """Rule id → Sigma ``name`` in the bundled pack (scenarios use names)."""
    names = {}
    for path in pack_files():
        for rule in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if rule and "id" in rule:
                names[rule["id"]] = rule.get("name", "")
    return names


def queue_by_rule_and_host(api: Api) -> dict[tuple[str, str], int]:
    """The tenant's alert queue as (rule name, host) → alert id."""
    names = rule_names()
    alerts = api.get("/alerts", tenant=TENANT)["alerts"]
    found = {(names[a["rule_id"]], a["host"]): a["id"] for a in alerts}
    assert len(found) == len(alerts), "one alert per rule and host"
    return found


def labelled_stages(app: Flask, exercise_id: int) -> dict[int, set[str]]:
    """Ground truth from the SIEM: the stages of each alert's labelled events."""
    found: dict[int, set[str]] = {}
    for alert_id, stage in siem_rows(
        app,
        "SELECT a.id, l.stage FROM alerts a "
        "LEFT JOIN alert_events ae ON ae.alert_id = a.id "
        "LEFT JOIN labels l ON l.event_id = ae.event_id AND l.malicious "
        "WHERE a.exercise = ?",
        str(exercise_id),
    ):
        found.setdefault(int(alert_id), set()).update({stage} if stage else set())
    return found


# --- the run -----------------------------------------------------------------------


def drill_begin() -> datetime:
    """When the drill starts: far enough back for the pause to lie in the past too,
    on a whole second so scenario and active times come out exact."""
    return (utcnow() - timedelta(seconds=PAUSED_AT + MINUTE)).replace(microsecond=0)


def team_works_the_queue(
    analyst: Api,
    queue: dict[tuple[str, str], int],
    bound: dict[str, str],
    admin_host: str,
) -> dict[str, int]:
    """The scripted analyst, through the API. Returns the alert ids by name."""
    ws = bound["victim_ws"]
    (mail,) = [i for (rule, _), i in queue.items() if rule == "email-macro-attachment"]
    alerts = {
        "mail": mail,
        "office": queue[("office-spawns-powershell", ws)],
        "encoded": queue[("powershell-encoded-command", ws)],
        "lsass": queue[("lsass-minidump-comsvcs", ws)],
        "admin": queue[("powershell-encoded-command", admin_host)],
    }

    def close(name: str, verdict: str, reason: str) -> None:
        analyst.post(
            "/alerts/close",
            {"alert_ids": [alerts[name]], "verdict": verdict, "reason": reason},
        )

    # The phishing alert owned and closed as a true positive.
    analyst.post("/alerts/ack", {"alert_ids": [alerts["mail"]]})
    close("mail", "tp", "macro invoice from a look-alike sender")
    # The loader: one alert right, the other wrongly closed as benign.
    analyst.post("/alerts/ack", {"alert_ids": [alerts["office"], alerts["encoded"]]})
    close("office", "tp", "Word started hidden PowerShell")
    close("encoded", "benign", "looks like the management agent")
    # The LSASS dump is owned but never given a verdict.
    analyst.post("/alerts/ack", {"alert_ids": [alerts["lsass"]]})
    # The administrator's script escalated as an incident, and its host isolated on
    # the strength of it.
    escalated = analyst.post(
        "/alerts/escalate",
        {
            "alert_ids": [alerts["admin"]],
            "title": f"Encoded PowerShell on {admin_host}",
        },
    )
    analyst.post(
        "/responses",
        {
            "action": "isolate_host",
            "target": admin_host,
            "incident_id": escalated["data"]["incident_id"],
        },
    )
    # The containment of the credential theft (the domain is never blocked).
    for action, role in (("isolate_host", "victim_ws"), ("reset_password", "it_admin")):
        analyst.post(
            "/responses",
            {"action": action, "target": bound[role], "alert_id": alerts["lsass"]},
        )
    # The incident ticket, written without an impact section and sent.
    opened = analyst.post(
        "/incidents",
        {
            "title": "Macro invoice led to an LSASS dump",
            "tenant": TENANT,
            "severity": "P1",
            "context": "A Finance clerk opened a macro invoice; Word ran PowerShell.",
        },
    )
    incident = opened["data"]["incident_id"]
    analyst.patch(
        f"/incidents/{incident}",
        {
            "facts": f"Encoded PowerShell and an LSASS dump on {ws}.",
            "analysis": "comsvcs.dll MiniDump: cached administrator logons exposed.",
            "conclusion": "Compromise of the workstation and the administrator.",
            "remediation": f"Isolate {ws}; reset the password of {bound['it_admin']}.",
            "techniques": ["T1059.001", "T1003", "T1078", "T1490"],
            "assets": [
                {"kind": "host", "value": ws},
                {"kind": "account", "value": bound["it_admin"]},
                {"kind": "host", "value": admin_host},
            ],
        },
    )
    analyst.post(f"/incidents/{incident}/reports", {"recipient": CUSTOMER})
    return alerts


def play_and_score(app: Flask) -> ScoredDrill:
    """The whole run (inside an app context); see the module docstring."""
    drill = make_drill(scenario=SCENARIO, speed=SPEED, slug=TENANT)
    exercise = drill.exercise_id
    begin = drill_begin()
    start(drill, begin)
    engine = Engine(app)
    engine.tick(begin)  # binds the scenario's roles to the tenant's organisation
    runtime = db.session.get(EngineRuntime, exercise)
    bound = dict(runtime.bindings)
    admin_host = write_admin_script(app, exercise, runtime)
    run(engine, begin, until=15, step=5)
    lifecycle.pause(exercise, drill.manager, begin + timedelta(seconds=PAUSED_AT))

    analyst = api_for(app, "acme-analyst")
    manager = api_for(app, "acme-manager")
    queue = queue_by_rule_and_host(analyst)
    alerts = team_works_the_queue(analyst, queue, bound, admin_host)

    # Play resumes; one wall second (a scenario minute) later the actor's return is
    # due, and the engine's next tick decides it. Then ENDEX and scoring.
    manager.post(f"/exercises/{exercise}/resume")
    time.sleep(MINUTE / SPEED + 0.2)
    engine.tick()
    manager.post(f"/exercises/{exercise}/endex", {"reason": "drill complete"})
    manager.post(f"/review/exercises/{exercise}/score")

    truth = labelled_stages(app, exercise)
    outcomes = db.session.execute(
        sa.select(StageOutcomeRecord.stage_id, StageOutcomeRecord.status).where(
            StageOutcomeRecord.exercise_id == exercise
        )
    ).all()
    return ScoredDrill(
        document=manager.get(f"/review/exercises/{exercise}")["document"],
        bound=bound,
        admin_host=admin_host,
        queue_rules=sorted(rule for rule, _ in queue),
        alert_stages={name: truth[i] for name, i in alerts.items()},
        outcomes={str(stage): str(status) for stage, status in outcomes},
        activity=manager.get(f"/exercises/{exercise}/activity")["activity"],
    )
