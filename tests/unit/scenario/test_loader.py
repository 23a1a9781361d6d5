"""Safe loading: limits checked before construction, positions kept, nothing unsafe."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.scenario import Limits, Scenario, ScenarioError, load_scenario
from simulator.scenario.loader import build_scenario, parse_yaml
from tests.conftest import SHARED
from tests.unit.scenario.conftest import BAD, DESIGN_EXAMPLE, GOOD


def problems(source, **kwargs) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, **kwargs)
    return [p.message for p in info.value.problems]


def design_example_completed() -> str:
    """The design page's example with its one elided list (``[...]``) written out."""
    text = DESIGN_EXAMPLE.read_text(encoding="utf-8")
    assert text.count("    events: [...]\n") == 1
    return text.replace("    events: [...]\n", "    events: []\n")


def test_the_design_example_is_accepted_by_the_model_as_written():
    scenario = load_scenario(design_example_completed(), check=False)
    assert scenario.id == "ransomware-finance"
    assert [s.id for s in scenario.stages] == [
        "delivery",
        "execution",
        "credential-access",
    ]
    execution = scenario.stage("execution")
    assert execution.delay.low == 300 and execution.delay.high == 900
    assert execution.events[1].repeat.count == 12
    assert execution.events[1].repeat.every == 30
    assert execution.expected_responses() == [
        ("isolate_host", "victim_ws"),
        ("block_domain", "c2_domain"),
    ]
    credential = scenario.stage("credential-access")
    assert credential.conditions() == [
        ("host_online", "victim_ws"),
        ("not_blocked", "c2_domain"),
    ]
    assert credential.damage == 30
    assert scenario.crisis[0].sender == "CFO"
    assert scenario.crisis[0].expect.reply_within == 900
    assert scenario.environment.roles["victim_ws"].host.owner == "victim"


def test_the_fixture_is_the_design_pages_example_verbatim():
    page = (SHARED / "design" / "SCENARIOS.md").read_text(encoding="utf-8")
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert DESIGN_EXAMPLE.read_text(encoding="utf-8") == example


def test_the_design_example_fails_validation_only_where_it_is_abridged():
    # The page shortens the third stage to `events: [...]` and refers to a
    # fallback stage it does not show; those two places, and only those, fail.
    found = problems(DESIGN_EXAMPLE, check=True)
    assert found == [
        "expected a mapping of keys here ('...' marks something left out: write it "
        "here)"
    ]
    assert problems(design_example_completed()) == ["unknown stage 'new-c2'"]


def test_a_path_given_as_text_or_path_object_loads_the_same():
    by_path = load_scenario(GOOD / "minimal.yaml")
    by_text = load_scenario(str(GOOD / "minimal.yaml"))
    assert by_path == by_text
    assert by_path.source.file.endswith("minimal.yaml")


def test_a_missing_file_is_named_as_missing(tmp_path):
    assert problems(str(tmp_path / "gone.yaml")) == ["no such file"]


def test_yaml_text_is_loaded_directly(minimal_text):
    scenario = load_scenario(minimal_text)
    assert scenario.id == "minimal"
    assert scenario.source.file == "<text>"


def test_positions_of_keys_and_values_are_kept(minimal_text):
    scenario = load_scenario(minimal_text)
    lines = minimal_text.splitlines()
    line, col = scenario.source.locate(("stages", 0, "technique"))
    assert lines[line - 1][col - 1 :].startswith("T1059.001")
    line, col = scenario.source.locate(("stages", 0, "technique"), key=True)
    assert lines[line - 1][col - 1 :].startswith("technique:")


def test_a_billion_laughs_file_is_refused_without_being_expanded():
    started = time.perf_counter()
    found = problems(BAD / "billion-laughs.yaml")
    elapsed = time.perf_counter() - started
    assert found == ["aliases would expand to more than 200000 nodes"]
    # Expanding 9**9 nodes would take minutes and gigabytes; refusing takes ms.
    assert elapsed < 1.0


@pytest.mark.parametrize("depth", [33, 500, 50_000])
def test_a_deeply_nested_document_is_refused_before_composing(depth):
    text = "a: " + "[" * depth + "]" * depth + "\n"
    (found,) = problems(text)
    # The parser itself stops at its own ceiling before ours on absurd depths.
    assert found in (
        "nesting deeper than 32",
        "YAML: exceeded maximum nesting depth (while increasing flow level)",
    )


def test_too_many_nodes_are_refused():
    text = "a: [" + ", ".join(["x"] * 60) + "]\n"
    with pytest.raises(ScenarioError, match="more than 50 YAML nodes"):
        parse_yaml(text, limits=Limits(max_nodes=50))


def test_too_many_aliases_are_refused():
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 10) + "]\n"
    with pytest.raises(ScenarioError, match="more than 5 aliases"):
        parse_yaml(text, limits=Limits(max_aliases=5))


def test_a_self_referencing_alias_is_refused():
    with pytest.raises(ScenarioError, match="refers to itself"):
        parse_yaml("a: &a [1, *a]\n")


def test_a_file_over_the_byte_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="larger than the 1 KiB limit"):
        load_scenario(big, limits=Limits(max_bytes=1024))


def test_text_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    assert problems(path) == ["file is not UTF-8 text (byte 10)"]


def test_only_one_document_per_file():
    assert problems("a: 1\n---\nb: 2\n") == ["one document per file"]


def test_an_empty_file_is_refused():
    assert problems("") == ["the file is empty"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: !!python/object/apply:os.system ['true']\n",
            "YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed",
        ),
        ("a: !!set {x, y}\n", "YAML tag tag:yaml.org,2002:set is not allowed"),
        (
            "a: !!python/name:os.system\n",
            "YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/name:os.system'",
        ),
        (
            "a: !custom 1\n",
            "YAML: could not determine a constructor for the tag '!custom'",
        ),
    ],
)
def test_tags_beyond_safe_load_are_refused(text, message):
    assert problems(text) == [message]


def test_duplicate_keys_are_errors_not_last_one_wins():
    with pytest.raises(ScenarioError) as info:
        parse_yaml("a: 1\nb: 2\na: 3\n")
    (problem,) = info.value.problems
    assert (problem.line, problem.col, problem.message) == (3, 1, "duplicate key 'a'")


def test_non_scalar_keys_are_refused():
    with pytest.raises(ScenarioError, match="keys must be plain names"):
        parse_yaml("? [a, b]\n: 1\n")


def test_keys_and_timestamps_stay_text():
    data, _ = parse_yaml("on: 2026-03-01\n1: yes\n")
    assert data == {"on": "2026-03-01", "1": True}


def test_merge_keys_are_resolved():
    data, _ = parse_yaml("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\n")
    assert data["thing"] == {"x": 1, "y": 2}


def test_build_scenario_keeps_the_source_map(minimal_text):
    scenario = build_scenario(minimal_text, "minimal.yaml")
    assert scenario.source.file == "minimal.yaml"
    assert ("stages", 0, "events", 0, "fields", "Image") in scenario.source.values


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_gives_a_scenario_or_a_scenario_error(text):
    try:
        result = load_scenario(text if "\n" in text else text + "\n")
    except ScenarioError as exc:
        assert exc.problems
        assert all(p.message for p in exc.problems)
    else:
        assert isinstance(result, Scenario)


_KEYS = st.sampled_from(
    ["id", "version", "title", "stages", "at", "after", "events", "&a", "*a", "<<"]
)
_SCALARS = st.one_of(
    st.sampled_from(["5m", "0", "x", "T1059", "P1", "[", "]", "{", "}", "*a", "&a"]),
    st.integers(-3, 3),
)


@st.composite
def yamlish(draw) -> str:
    """Line-based text that looks like YAML, to reach deeper into the loader."""
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        indent = "  " * draw(st.integers(0, 3))
        dash = draw(st.sampled_from(["", "- "]))
        lines.append(f"{indent}{dash}{draw(_KEYS)}: {draw(_SCALARS)}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(yamlish())
def test_yaml_like_text_gives_a_scenario_or_a_scenario_error(text):
    try:
        load_scenario(text)
    except ScenarioError as exc:
        assert exc.problems


def test_the_loader_never_calls_the_unsafe_constructor(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("unsafe yaml.load used")

    monkeypatch.setattr(yaml, "load", forbidden)
    monkeypatch.setattr(yaml, "unsafe_load", forbidden)
    assert load_scenario(GOOD / "minimal.yaml").id == "minimal"
