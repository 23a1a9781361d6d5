"""The text and JSON output of ``socdrill exercise dry-run``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from siem.rules import load_pack
from simulator.binding import BindingError
from simulator.scenario import ScenarioError, load_scenario
from simulator.scenario.durations import format_duration
from socdrill.engine.dry_run import (
    DryRunError,
    DryRunReport,
    dry_run,
    parse_respond_text,
)


def run_dry_run(
    scenario_file: str,
    seed: int,
    respond_file: str | None,
    org_size: str,
    as_json: bool,
) -> None:
    """Load, play and print; every bad input is a clear error and exit status 1."""
    from simulator.environment import Organisation

    rules = load_pack()
    names = {rule.id for rule in rules} | {rule.name for rule in rules if rule.name}
    try:
        scenario = load_scenario(Path(scenario_file), known_rule_ids=names)
    except ScenarioError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    try:
        responses = (
            parse_respond_text(
                Path(respond_file).read_text(encoding="utf-8"), source=respond_file
            )
            if respond_file
            else []
        )
        report = dry_run(scenario, Organisation.build(seed, org_size), seed, rules,
                         responses)  # fmt: skip
    except (DryRunError, BindingError, UnicodeDecodeError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        return
    print_report(report)


def _at(seconds: float) -> str:
    return f"+{format_duration(round(seconds))}".rjust(9)


def print_report(report: DryRunReport) -> None:
    click.echo(f"scenario {report.scenario}, seed {report.seed}")
    for role, value in sorted(report.bindings.items()):
        click.echo(f"  role {role} = {value}")
    for item in report.responses:
        click.echo(
            f"{_at(item['at'])}  response  {item['action']} {item['target']} "
            f"({item['value']}): {item['logs']} log(s)"
        )
    for stage in report.stages:
        if stage.status == "fired":
            detail = f"{stage.events} events"
            if stage.contained_at is not None:
                detail += f", contained at {_at(stage.contained_at).strip()}"
            raised = ", ".join(stage.alerts) or "no alerts"
            detail += f"; alerts: {raised}"
            if stage.missing:
                detail += f"; expected but not raised: {', '.join(stage.missing)}"
        else:
            detail = stage.reason + (f" → {stage.fallback}" if stage.fallback else "")
        click.echo(
            f"{_at(stage.due)}  {stage.status:<9} {stage.stage} "
            f"({stage.technique}, {stage.tier}): {detail}"
        )
    for inject in report.crisis:
        click.echo(
            f"{_at(inject['due'])}  inject    {inject['id']} "
            f"({inject['channel']}, from {inject['from']})"
        )
    click.echo(f"{report.events} events ingested, {report.alerts} alerts raised")
    if report.noise_alerts:
        click.echo(
            f"rules that fired on unlabelled events: {', '.join(report.noise_alerts)}"
        )
