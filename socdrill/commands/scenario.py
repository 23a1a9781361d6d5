"""``socdrill scenario``: validate files, export the schema, dry-run a timeline."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import click

from simulator.scenario import ScenarioError, json_schema, load_scenario
from simulator.scenario.durations import DurationError, format_duration, parse_duration


def register(cli: click.Group) -> None:
    cli.add_command(scenario)


@click.group()
def scenario() -> None:
    """Check and inspect scenario files."""


def rule_ids_if_available(root: Path | None = None) -> set[str] | None:
    """The rule pack's ids and names when the SIEM package provides them.

    Scenarios name rules by their Sigma ``name`` (``office-spawns-powershell``); the
    UUID ``id`` is accepted too. A pack that fails to load is reported on standard
    error and skipped: the other checks still run, only ``expect.detections`` goes
    unchecked. ``None`` when there is no rule pack at all.
    """
    try:
        from siem.rules import load_pack
    except ImportError:
        return None
    try:
        rules = load_pack(root)
    except Exception as exc:  # any failure to load the pack means "unchecked"
        first = str(exc).split(";")[0]
        click.echo(
            f"warning: rule pack not loaded ({first}); expect.detections not checked",
            err=True,
        )
        return None
    names = {getattr(rule, "name", "") for rule in rules}
    return ({rule.id for rule in rules} | names) - {""}


@scenario.command("validate")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False)
)
@click.option(
    "--no-rules",
    is_flag=True,
    help="Do not check expect.detections against the rule pack.",
)
def validate_command(files: tuple[str, ...], no_rules: bool) -> None:
    """Check scenario FILES; print each problem as file:line:col: path: message."""
    rule_ids = None if no_rules else rule_ids_if_available()
    failed = False
    for file in files:
        try:
            load_scenario(Path(file), known_rule_ids=rule_ids)
        except ScenarioError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem))
        else:
            click.echo(f"ok {file}")
    if failed:
        raise SystemExit(1)


@scenario.command("schema")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the schema to this file instead of standard output.",
)
def schema_command(out: str | None) -> None:
    """Print (or write) the JSON Schema of the scenario format."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@scenario.command("dry-run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--org-size",
    type=click.Choice(["tiny", "small", "medium", "large"]),
    default="small",
    show_default=True,
)
@click.option(
    "--respond",
    "responses",
    multiple=True,
    metavar="OFFSET:ACTION:ROLE",
    help="A response action during the run, e.g. '25m:isolate_host:victim_ws'.",
)
def dry_run_command(
    file: str, seed: int, org_size: str, responses: tuple[str, ...]
) -> None:
    """Show when each stage of FILE fires, with how many events, for a seed."""
    from simulator.environment import Organisation
    from simulator.timeline import Timeline

    try:
        loaded = load_scenario(Path(file))
    except ScenarioError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    changes = list(_parse_responses(responses))
    org = Organisation.build(seed, org_size)
    try:
        timeline = Timeline(loaded, org, seed, 0.0)
        outcomes = timeline.run(changes)
    except ValueError as exc:  # binding, response and sensor errors explain themselves
        raise click.ClickException(str(exc)) from None
    for label, value in sorted(timeline.bindings.items()):
        click.echo(f"role {label} = {value}")
    for outcome in outcomes:
        detail = f"{len(outcome.events)} events"
        if outcome.status != "fired":
            detail = outcome.reason
            if outcome.fallback:
                detail += f" → {outcome.fallback}"
        if outcome.contained_at is not None:
            detail += f", contained at +{format_duration(round(outcome.contained_at))}"
        click.echo(
            f"{_offset(outcome.due)}  {outcome.status:<9} "
            f"{outcome.stage} ({outcome.technique}, {outcome.tier}): {detail}"
        )
    for inject in timeline.injects():
        click.echo(
            f"{_offset(inject.due)}  inject    {inject.id} "
            f"({inject.channel}, from {inject.sender})"
        )


def _offset(seconds: float) -> str:
    return f"+{format_duration(round(seconds))}".rjust(9)


def _parse_responses(items: Iterable[str]) -> Iterable[tuple[float, str, str]]:
    for item in items:
        parts = item.split(":")
        if len(parts) != 3:
            raise click.BadParameter(
                f"'{item}' should be OFFSET:ACTION:ROLE", param_hint="--respond"
            )
        try:
            offset = parse_duration(parts[0])
        except DurationError as exc:
            raise click.BadParameter(str(exc), param_hint="--respond") from None
        yield offset, parts[1], parts[2]
