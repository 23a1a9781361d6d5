"""``dry-run --score``: a scripted team's actions scored before a real drill.

The ransomware scenario with seed 7 binds the victim's workstation to WS0008 and
the C2 domain to static-update.example.com (the report prints the bindings); the
script below isolates the workstation at 20 min, which sends the attacker to the
fallback and prevents every later stage.
"""

from __future__ import annotations

import json

import pytest

from scoring import DEFAULT_SETTINGS
from socdrill.cli import cli
from tests.web.conftest import Browser
from tests.web.test_engine_support import (
    RANSOMWARE,
    engine_app_in_context,
    make_drill,
)

SCRIPT = """
- {at: 5m, ack: email-macro-attachment}
- {at: 6m, verdict: {rule: email-macro-attachment, verdict: tp}}
- {at: 20m, isolate_host: victim_ws}
- at: 25m
  by: analyst2
  ticket:
    id: INC-1
    severity: P2
    assets: [victim_ws, victim]
    iocs: [c2_domain]
    techniques: [T1566.001, T1059]
    alerts: [email-macro-attachment]
    context: Macro invoice mailed to finance.
- {at: 30m, report_sent: INC-1}
- {at: 31m, block_domain: c2_domain}
"""


app = engine_app_in_context


def scored(app, tmp_path, script: str, *extra: str):
    respond = tmp_path / "respond.yml"
    respond.write_text(script)
    return app.test_cli_runner().invoke(
        cli,
        [
            "exercise",
            "dry-run",
            "--scenario",
            str(RANSOMWARE),
            "--seed",
            "7",
            "--respond",
            str(respond),
            *extra,
        ],
    )


def report_of(app, tmp_path, script: str) -> dict:
    result = scored(app, tmp_path, script, "--score", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_scripted_acknowledgements_verdicts_and_tickets_are_timed_and_scored(
    app, tmp_path
):
    report = report_of(app, tmp_path, SCRIPT)
    profile = report["score"]
    document = profile["document"]
    stages = {s["stage"]: s for s in document["stages"]}
    delivery = stages["delivery"]
    # The delivery alert is raised with the stage's first event; ack at 5 min and
    # the TP verdict at 6 min are measured from it.
    assert delivery["t_alert"] == pytest.approx(delivery["t_inj"])
    assert delivery["tta"] == pytest.approx(300 - delivery["t_inj"])
    assert delivery["ttd"] == pytest.approx(360 - delivery["t_inj"])
    assert delivery["detected"] and delivery["time_score"] == 1.0
    # Required responses of the stages that ran (delivery, execution): quarantine
    # the file, isolate WS0008, block the domain and block the C2 address; two of
    # four done, nothing collateral.
    response = document["details"]["response"]
    assert (response["required"], response["done_correct"]) == (4, 2)
    assert response["score"] == pytest.approx(0.5)
    assert {(m["action"], m["target"]) for m in response["missed"]} == {
        ("block_ip", report["bindings"]["c2"]),
        ("quarantine_file", report["bindings"]["victim_ws"]),
    }
    # The ticket's roles became the bound host and account: exactly the assets of
    # the two stages that ran.
    assets = document["details"]["report"]["assets"]
    assert (assets["precision"], assets["recall"], assets["extra"]) == (1.0, 1.0, [])
    # T1566.001 and T1059 tagged; T1204 (execution's other technique) missed.
    attack = document["details"]["report"]["attack"]
    assert attack["missed"] == ["T1204"]
    assert attack["recall"] == pytest.approx(2 / 3)
    triage = profile["triage"]
    assert triage["tp"] == 1 and triage["fp"] == 0 and triage["benign_alerts"] == 0
    assert triage["unhandled_attack"] == triage["attack_alerts"] - 1
    weights = DEFAULT_SETTINGS.tes_weights
    expected = 100 * sum(weights[k] * profile["components"][k] for k in weights)
    assert profile["tes"] == pytest.approx(expected, abs=1e-6)
    assert "crisis message journalist" in " ".join(profile["areas_for_improvement"])


@pytest.mark.parametrize(
    ("host", "penalty"),
    [("WS0001", 0.05), ("DC01", 0.2)],  # a workstation; a business-critical DC
)
def test_a_wrong_isolation_costs_its_collateral_penalty(app, tmp_path, host, penalty):
    report = report_of(app, tmp_path, SCRIPT + f"- {{at: 32m, isolate_host: {host}}}\n")
    response = report["score"]["document"]["details"]["response"]
    assert [(c["action"], c["target"]) for c in response["collateral"]] == [
        ("isolate_host", host)
    ]
    assert response["score"] == pytest.approx(0.5 * (1 - penalty))


def test_crisis_replies_are_timed_against_the_message_target(app, tmp_path):
    report = report_of(
        app, tmp_path, SCRIPT + "- {at: 3h10m, crisis_reply: journalist}\n"
    )
    crisis = report["score"]["document"]["crisis"]
    journalist = next(m for m in crisis["messages"] if m["id"] == "journalist")
    # Shown at 3 h, answered 10 min later against a 30-min target.
    assert journalist["response_time"] == pytest.approx(600)
    assert journalist["within_target"] is True
    assert (crisis["answered"], crisis["within_target"], crisis["judged"]) == (1, 1, 2)
    assert crisis["score"] == pytest.approx(0.5)


def test_the_text_report_prints_the_profile(app, tmp_path):
    result = scored(app, tmp_path, SCRIPT, "--score")
    assert result.exit_code == 0, result.output
    assert "score profile (scoring spec 1)" in result.output
    assert "team exercise score (TES):" in result.output
    assert "stage delivery (P3, scored): detected" in result.output
    assert "response: 2 of 4 required actions; collateral: none" in result.output
    without = scored(app, tmp_path, SCRIPT, "--json")
    assert json.loads(without.output)["score"] is None


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "{at: 5m, ack: email-macro-atachment}",
            "did you mean 'email-macro-attachment'",
        ),
        ("{at: 30s, ack: email-macro-attachment}", "raised by +0m30s (the first at"),
        ("{at: 5m, ack: {stage: deliverry}}", "no stage 'deliverry'"),
        ("{at: 5m, ack: {host: WS0008}}", "unknown key 'host'"),
        ("{at: 5m, verdict: {rule: email-macro-attachment, verdict: yes}}", "one of"),
        ("{at: 5m, verdict: email-macro-attachment}", "verdict: tp"),
        ("{at: 5m, ticket: {severity: P1}}", "{id: INC-1"),
        ("{at: 5m, ticket: {id: INC-1, sevrity: P1}}", "did you mean 'severity'"),
        ("{at: 5m, ticket: {id: INC-1, severity: P9}}", "severity: one of"),
        ("{at: 5m, ticket: {id: INC-1, assets: WS0008}}", "a list of text"),
        ("{at: 5m, ticket: {id: INC-1}}", "at least one field"),
        ("{at: 5m, report_sent: 'INC 1'}", "a ticket id"),
        ("{at: 5m, hunt_finding: 7}", "name roles or values"),
        ("{at: 3h10m, crisis_reply: jounalist}", "did you mean 'journalist'"),
        ("{at: 1h, crisis_reply: journalist}", "arrives at +3h0m00s"),
        ("{at: 5h, ack: all}", "after the scenario's end"),
        ("{at: 5m, by: 'two words', ack: all}", ".by:"),
        ("{at: 5m, verdicts: all}", "did you mean 'verdict'"),
    ],
)
def test_a_malformed_team_step_is_a_clear_error(app, tmp_path, step, message):
    result = scored(app, tmp_path, f"- {step}\n", "--score")
    assert result.exit_code != 0
    assert message in result.output


def test_control_gets_the_profile_over_the_json_api(app):
    drill = make_drill()
    manager = Browser(app.test_client())
    manager.login(drill.manager.username)
    body = {
        "scenario_id": "ransomware-finance",
        "seed": 7,
        "score": True,
        "respond": [
            {"at": "5m", "ack": "email-macro-attachment"},
            {"at": "20m", "isolate_host": "victim_ws"},
        ],
    }
    response = manager.post_json("/api/v1/engine/dry-run", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    profile = response.get_json()["report"]["score"]
    stages = {s["stage"]: s for s in profile["stages"]}
    assert stages["delivery"]["tta"] is not None
    refused = manager.post_json("/api/v1/engine/dry-run", {**body, "score": "yes"})
    assert refused.status_code == 400
    assert "score must be true or false" in refused.get_data(as_text=True)
    wrong = manager.post_json(
        "/api/v1/engine/dry-run",
        {**body, "respond": [{"at": "5m", "ack": "no-such-rule"}]},
    )
    assert wrong.status_code == 422
    assert "no alert of rule 'no-such-rule'" in wrong.get_data(as_text=True)
