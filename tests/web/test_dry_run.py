"""Dry runs: the CLI and the JSON API, with real ingestion and detection."""

from __future__ import annotations

import json

import pytest

from socdrill.cli import cli
from socdrill.models import Role
from tests.web.conftest import Browser, make_user
from tests.web.test_engine_support import (
    RANSOMWARE,
    engine_app_in_context,
    make_drill,
)

app = engine_app_in_context


def dry_run(app, *args: str):
    return app.test_cli_runner().invoke(
        cli,
        ["exercise", "dry-run", "--scenario", str(RANSOMWARE), "--seed", "7", *args],
    )


def test_a_dry_run_reports_every_stage_with_its_events_and_alerts(app):
    result = dry_run(app, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    stages = {stage["stage"]: stage for stage in report["stages"]}
    assert {s["status"] for s in stages.values()} == {"fired"}
    assert "fallback-c2" not in stages  # a fallback only runs when needed
    execution = stages["execution"]
    assert execution["events"] == 16
    assert "office-spawns-powershell" in execution["alerts"]
    assert "encrypted-file-extension-written" in stages["encryption"]["alerts"]
    assert report["events"] > 500 and report["alerts"] > 10
    assert [c["id"] for c in report["crisis"]][:1] == ["helpdesk-tickets"]


def test_scripted_isolation_prevents_what_follows_and_is_logged(app, tmp_path):
    respond = tmp_path / "respond.yml"
    respond.write_text("- {at: 20m, isolate_host: victim_ws}\n")
    result = dry_run(app, "--respond", str(respond))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("response  isolate_host victim_ws" in ln and "1 log(s)" in ln
               for ln in lines)  # fmt: skip
    assert any("fallback  credential-access" in line for line in lines)
    assert any("prevented encryption" in line for line in lines)
    assert any(
        "fired     execution" in line and "office-spawns-powershell" in line
        for line in lines
    )


def test_a_blocked_domain_sends_the_attacker_to_the_fallback(app, tmp_path):
    respond = tmp_path / "respond.yml"
    respond.write_text("- {at: 10m, block_domain: c2_domain}\n")
    report = json.loads(dry_run(app, "--respond", str(respond), "--json").output)
    stages = {stage["stage"]: stage["status"] for stage in report["stages"]}
    assert stages["credential-access"] == "fallback"
    assert stages["fallback-c2"] == "fired"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("isolate_host: victim_ws\n", "expected a list"),
        ("- {isolate_host: victim_ws}\n", "'at'"),
        ("- {at: soon, isolate_host: victim_ws}\n", "respond.yml[0].at"),
        ("- {at: 5m, isolate: victim_ws}\n", "unknown action 'isolate'"),
        ("- {at: 5m, isolate_host: victim_ws, block_ip: c2}\n", "exactly one action"),
        ("- {at: 5m, isolate_host: [a, b]}\n", "name a role or a value"),
        ("- {at: 5m, isolate_host: NO-SUCH-HOST}\n", "no host called"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_a_malformed_respond_file_is_a_clear_error(app, tmp_path, text, message):
    respond = tmp_path / "respond.yml"
    respond.write_text(text)
    result = dry_run(app, "--respond", str(respond))
    assert result.exit_code != 0
    assert message in result.output


def test_an_invalid_scenario_is_reported_with_its_position(app, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(RANSOMWARE.read_text().replace("tier: P2", "tier: P9", 1))
    result = app.test_cli_runner().invoke(
        cli, ["exercise", "dry-run", "--scenario", str(broken), "--seed", "1"]
    )
    assert result.exit_code == 1
    assert "broken.yml:" in result.output and "P9" in result.output


def test_control_can_dry_run_over_the_json_api(app):
    drill = make_drill()
    manager = Browser(app.test_client())
    manager.login(drill.manager.username)
    response = manager.post_json(
        "/api/v1/engine/dry-run",
        {
            "scenario_id": "ransomware-finance",
            "seed": 7,
            "respond": [{"at": "20m", "isolate_host": "victim_ws"}],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    stages = {s["stage"]: s["status"] for s in response.get_json()["report"]["stages"]}
    assert stages["credential-access"] == "fallback"
    own = manager.post_json(
        "/api/v1/engine/dry-run", {"exercise_id": drill.exercise_id, "seed": 3}
    )
    assert own.status_code == 200
    assert own.get_json()["report"]["scenario"] == "ransomware-finance"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"scenario_id": "ransomware-finance", "seed": -1}, 400, "seed"),
        ({"scenario_id": "ransomware-finance", "seed": "7"}, 400, "seed"),
        ({"scenario_id": "no-such-scenario"}, 404, "no scenario"),
        ({"scenario_id": "../etc/passwd"}, 400, "scenario_id"),
        ({"scenario_id": "ransomware-finance", "respond": "x"}, 400, "a list"),
        ({"exercise_id": 9999}, 404, ""),
    ],
)
def test_bad_dry_run_requests_are_refused(app, body, status, message):
    make_user("boss", Role.MANAGER)
    manager = Browser(app.test_client())
    manager.login("boss")
    response = manager.post_json("/api/v1/engine/dry-run", body)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_analysts_may_not_dry_run_or_see_ground_truth(app):
    drill = make_drill()
    analyst = Browser(app.test_client())
    analyst.login(drill.analyst.username)
    body = {"scenario_id": "ransomware-finance"}
    assert analyst.post_json("/api/v1/engine/dry-run", body).status_code == 403
    play = analyst.get(f"/api/v1/engine/exercises/{drill.exercise_id}")
    assert play.status_code == 403
