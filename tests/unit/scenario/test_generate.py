"""``socdrill generate``: noise merged with the attack, reproducible to the byte."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from click.testing import CliRunner

from simulator.events import parse_iso
from socdrill.cli import cli
from tests.unit.scenario.conftest import BAD, GOOD

SCENARIO = str(GOOD / "adaptive-attack.yaml")
# A tiny, quiet organisation keeps each run to a few seconds on a busy machine.
SMALL = ("--org-size", "tiny", "--noise-profile", "quiet")


def generate(*args: str):
    return CliRunner().invoke(cli, ["generate", *args], catch_exceptions=False)


def read_ndjson(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One 90-minute run with an attack and its truth file."""
    folder = tmp_path_factory.mktemp("gen")
    out, truth = folder / "logs.ndjson", folder / "truth.ndjson"
    result = generate(
        "--scenario", SCENARIO, "--seed", "7", "--hours", "1.5", *SMALL,
        "--out", str(out), "--truth", str(truth),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, truth, result


def test_output_is_time_ordered_ndjson_of_noise_and_attack(generated):
    out, _, _ = generated
    records = read_ndjson(out)
    times = [parse_iso(r["ts"]) for r in records]
    assert times == sorted(times)
    assert parse_iso("2026-03-02T08:00:00Z") <= times[0]
    assert times[-1] < parse_iso("2026-03-02T09:30:00Z")
    attack = [r for r in records if r["uid"].startswith("a-")]
    assert attack and len(attack) < len(records)
    assert {"uid", "ts", "sensor", "host", "logsource", "fields", "raw"} <= set(
        records[0]
    )


def test_truth_labels_exactly_the_attack_events_written(generated):
    out, truth, _ = generated
    attack = {r["uid"] for r in read_ndjson(out) if r["uid"].startswith("a-")}
    labels = read_ndjson(truth)
    assert {label["uid"] for label in labels} == attack
    assert {label["scenario"] for label in labels} == {"adaptive-attack"}
    assert all(label["malicious"] for label in labels)
    assert "adaptive-attack" not in out.read_text(encoding="utf-8")


def test_the_same_inputs_give_byte_identical_files(generated, tmp_path):
    out, truth, _ = generated
    again, again_truth = tmp_path / "again.ndjson", tmp_path / "again-truth.ndjson"
    result = generate(
        "--scenario", SCENARIO, "--seed", "7", "--hours", "1.5", *SMALL,
        "--out", str(again), "--truth", str(again_truth),
    )  # fmt: skip
    assert result.exit_code == 0
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest
    assert again_truth.read_bytes() == truth.read_bytes()


def test_a_different_seed_gives_different_logs(tmp_path):
    first, second = tmp_path / "7.ndjson", tmp_path / "8.ndjson"
    for seed, out in (("7", first), ("8", second)):
        generate("--scenario", SCENARIO, "--seed", seed, "--hours", "0.1", *SMALL,
                 "--out", str(out))  # fmt: skip
    assert first.read_bytes() != second.read_bytes()


def test_raw_format_writes_the_native_lines(generated, tmp_path):
    out, _, _ = generated
    raw = tmp_path / "logs.raw"
    result = generate(
        "--scenario", SCENARIO, "--seed", "7", "--hours", "1.5", *SMALL,
        "--out", str(raw), "--format", "raw",
    )  # fmt: skip
    assert result.exit_code == 0
    expected = [r["raw"] for r in read_ndjson(out)]
    assert raw.read_text(encoding="utf-8").splitlines() == expected


def test_noise_only_without_a_scenario(tmp_path):
    out = tmp_path / "noise.ndjson"
    result = generate("--seed", "3", "--hours", "0.25", *SMALL, "--out", str(out))
    assert result.exit_code == 0, result.output
    records = read_ndjson(out)
    assert records and not any(r["uid"].startswith("a-") for r in records)


def test_the_attack_can_start_later_in_the_window(tmp_path):
    out, truth = tmp_path / "late.ndjson", tmp_path / "late-truth.ndjson"
    result = generate(
        "--scenario", SCENARIO, "--seed", "7", "--hours", "1.5", *SMALL,
        "--attack-at", "1h",
        "--start", "2026-03-03T09:00:00+01:00",
        "--out", str(out), "--truth", str(truth),
    )  # fmt: skip
    assert result.exit_code == 0
    attack = [r for r in read_ndjson(out) if r["uid"].startswith("a-")]
    assert min(parse_iso(r["ts"]) for r in attack) >= parse_iso("2026-03-03T09:00:00Z")
    assert "fall after the end of the window" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "0"], "--hours"),
        (["--hours", "1", "--start", "yesterday"], "is not an ISO-8601 time"),
        (["--hours", "1", "--attack-at", "soon"], "is not a duration"),
        (["--hours", "1", "--format", "csv"], "--format"),
        (
            ["--hours", "1", "--scenario", str(BAD / "cycle.yaml")],
            "stages form a cycle",
        ),
    ],
)
def test_bad_options_are_explained_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "never.ndjson"
    result = CliRunner().invoke(
        cli, ["generate", "--seed", "1", "--out", str(out), *args]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
