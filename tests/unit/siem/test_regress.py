"""Regression pairs and the ``socdrill rules`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from siem.regress import RegressionError, find_pairs, run_pooled, run_regression
from socdrill.commands.rules import rules

RULE = """\
title: Whoami
id: 00000000-0000-4000-8000-00000000{n:04d}
logsource: {{product: windows, category: process_creation}}
detection:
    selection:
        Image|endswith: '{image}'
    condition: selection
level: low
"""


def windows_event(image: str, record: int) -> dict:
    return {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 1,
                "TimeCreated": {"#attributes": {"SystemTime": "2026-03-01T08:00:00Z"}},
                "EventRecordID": record,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "ws-01",
            },
            "EventData": {"Image": image},
        }
    }


def make_pair(
    root: Path,
    name: str,
    n: int,
    rule_image: str,
    images: list[str],
    match_count: int | None,
) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "rule.yml").write_text(RULE.format(n=n, image=rule_image))
    (folder / "events.json").write_text(
        "\n".join(
            json.dumps(windows_event(img, n * 100 + i), indent=1)
            for i, img in enumerate(images)
        )
    )
    test = {"name": "Positive", "type": "evtx"}
    if match_count is not None:
        test["match_count"] = match_count
    (folder / "info.yml").write_text(json.dumps({"regression_tests_info": [test]}))


@pytest.fixture
def pairs(tmp_path):
    make_pair(tmp_path, "exact", 1, "\\whoami.exe", ["C:\\w\\whoami.exe"], 1)
    make_pair(tmp_path, "undercounted", 2, "\\net.exe", ["C:\\w\\net.exe"] * 2, 1)
    make_pair(tmp_path, "no_count", 3, "\\calc.exe", ["C:\\w\\calc.exe"], None)
    make_pair(tmp_path, "missed", 4, "\\nope.exe", ["C:\\w\\calc.exe"], 1)
    return tmp_path


def test_a_pair_agrees_when_at_least_match_count_events_match(pairs):
    results = {r.name: r for r in run_regression(pairs)}
    assert results["exact"].agrees
    assert results["undercounted"].agrees and results["undercounted"].matched == 2
    assert results["no_count"].agrees
    assert not results["missed"].agrees
    assert results["missed"].reason == "rule did not fire (expected 1 matches)"


def test_pooled_mode_shows_cross_pair_hits(pairs):
    make_pair(pairs, "also_calc", 5, "\\calc.exe", ["C:\\x\\calc.exe"], 1)
    pooled = {p.name: p for p in run_pooled(pairs)}
    assert pooled["no_count"].other_pairs == {"also_calc": 1, "missed": 1}
    assert not pooled["missed"].fired_on_own


def test_a_folder_without_pairs_is_an_error(tmp_path):
    with pytest.raises(RegressionError, match="no regression pairs"):
        find_pairs(tmp_path)


def test_regress_command_prints_disagreements_and_fails_below_min(pairs):
    runner = CliRunner()
    result = runner.invoke(rules, ["regress", str(pairs)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        "missed [json]: rule did not fire (expected 1 matches)",
        "3/4 pairs agree",
    ]
    relaxed = runner.invoke(rules, ["regress", str(pairs), "--min", "0.7"])
    assert relaxed.exit_code == 0
    pooled = runner.invoke(rules, ["regress", str(pairs), "--pooled", "--min", "0.7"])
    assert "3/4 rules fired on their own events (pooled)" in pooled.output


def test_validate_and_test_check_the_bundled_pack():
    runner = CliRunner()
    validated = runner.invoke(rules, ["validate"])
    assert validated.exit_code == 0, validated.output
    assert "rules valid" in validated.output
    tested = runner.invoke(rules, ["test"])
    assert tested.exit_code == 0, tested.output
    assert "samples as expected" in tested.output


def test_validate_reports_a_broken_pack(tmp_path):
    (tmp_path / "bad.yml").write_text("title: x\nlogsource: {product: windows}\n")
    result = CliRunner().invoke(rules, ["validate", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "invalid rule" in result.output


def test_pack_tests_report_a_failing_sample(tmp_path):
    (tmp_path / "r.yml").write_text(
        RULE.format(n=9, image="\\whoami.exe").replace("title:", "name: who\ntitle:")
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "who.yml").write_text(
        "positive:\n- logsource: {product: windows, category: process_creation}\n"
        "  fields: {Image: 'C:\\w\\calc.exe'}\n"
    )
    result = CliRunner().invoke(rules, ["test", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "who: positive sample 0 did not match" in result.output
