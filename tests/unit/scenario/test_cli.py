"""``socdrill scenario validate | schema | dry-run`` as a user runs them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from socdrill.cli import cli
from socdrill.commands.scenario import rule_ids_if_available
from tests.unit.scenario.conftest import BAD, GOOD


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["scenario", *args], catch_exceptions=False)

    return invoke


def test_validate_prints_ok_for_good_files_and_exits_zero(run):
    files = [str(GOOD / "minimal.yaml"), str(GOOD / "adaptive-attack.yaml")]
    result = run("validate", "--no-rules", *files)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"ok {f}" for f in files]


def test_validate_prints_every_problem_and_exits_non_zero(run):
    good, bad = str(GOOD / "minimal.yaml"), str(BAD / "unknown-role.yaml")
    result = run("validate", "--no-rules", good, bad)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"ok {good}"
    assert len(lines) == 4
    assert lines[1].startswith(f"{bad}:18:24: stages[0].entities[1]: unknown role")
    assert "did you mean 'victim_ws'?" in lines[3]


def test_validate_refuses_a_missing_file(run, tmp_path):
    result = CliRunner().invoke(
        cli, ["scenario", "validate", str(tmp_path / "nope.yaml")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_schema_goes_to_stdout_or_a_file(run, tmp_path):
    printed = run("schema")
    assert printed.exit_code == 0
    schema = json.loads(printed.stdout)
    assert schema["title"] == "socdrill scenario"
    out = tmp_path / "scenario.schema.json"
    written = run("schema", "--out", str(out))
    assert written.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema


def test_dry_run_shows_bindings_stages_and_injects(run):
    result = run("dry-run", str(GOOD / "adaptive-attack.yaml"), "--seed", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("role victim_ws = ") for line in lines)
    stages = [line.split()[2] for line in lines if " fired " in line]
    assert stages == ["delivery", "execution", "credential-access", "exfiltration"]
    assert any("inject    helpdesk-call" in line for line in lines)


def test_dry_run_applies_responses(run):
    result = run(
        "dry-run",
        str(GOOD / "adaptive-attack.yaml"),
        "--seed",
        "3",
        "--respond",
        "1m:isolate_host:victim_ws",
    )
    assert result.exit_code == 0, result.output
    assert "prevented execution (T1059.001, P2): host_online: victim_ws" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("respond", "message"),
    [
        ("1m-isolate_host", "should be OFFSET:ACTION:ROLE"),
        ("soon:isolate_host:victim_ws", "is not a duration"),
        ("1m:isolate_hots:victim_ws", "did you mean 'isolate_host'"),
    ],
)
def test_dry_run_explains_malformed_responses(respond, message):
    result = CliRunner().invoke(
        cli,
        ["scenario", "dry-run", str(GOOD / "minimal.yaml"), "--respond", respond],
    )
    assert result.exit_code != 0
    assert message in result.output


def test_dry_run_of_an_invalid_scenario_prints_its_problems(run):
    result = CliRunner().invoke(cli, ["scenario", "dry-run", str(BAD / "cycle.yaml")])
    assert result.exit_code == 1
    assert "stages form a cycle" in result.output


RULE = """\
title: Encoded PowerShell
id: 9f4c1b2e-5d6a-4e7f-8a9b-0c1d2e3f4a5b
name: powershell-encoded-command
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection: {CommandLine|contains: ' -enc '}
  condition: selection
level: high
"""


def test_rule_pack_names_and_ids_are_both_accepted(tmp_path):
    (tmp_path / "rule.yml").write_text(RULE, encoding="utf-8")
    known = rule_ids_if_available(tmp_path)
    assert known == {
        "powershell-encoded-command",
        "9f4c1b2e-5d6a-4e7f-8a9b-0c1d2e3f4a5b",
    }


def test_a_broken_rule_pack_is_reported_and_skipped(tmp_path, capsys):
    (tmp_path / "rule.yml").write_text(
        RULE.replace("category: process_creation", "category: nonsense"),
        encoding="utf-8",
    )
    assert rule_ids_if_available(tmp_path) is None
    assert "expect.detections not checked" in capsys.readouterr().err
