"""The text and JSON output of ``socdrill exercise dry-run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from siem.rules import load_pack
from simulator.binding import BindingError
from simulator.scenario import ScenarioError, load_scenario
from simulator.scenario.durations import format_duration
from socdrill.engine.dry_run import (
    DryRunError,
    DryRunReport,
    Script,
    dry_run,
    parse_respond_text,
)


def run_dry_run(
    scenario_file: str,
    seed: int,
    respond_file: str | None,
    org_size: str,
    as_json: bool,
    *,
    score: bool = False,
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
        script = (
            parse_respond_text(
                Path(respond_file).read_text(encoding="utf-8"), source=respond_file
            )
            if respond_file
            else Script()
        )
        report = dry_run(scenario, Organisation.build(seed, org_size), seed, rules,
                         script, score=score)  # fmt: skip
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
    if report.score is not None:
        print_score(report.score)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def _value(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "n/a"


def print_score(profile: dict[str, Any]) -> None:
    """The score profile: TES and its components, stages, triage, response, crisis."""
    click.echo("")
    click.echo(
        f"score profile (scoring spec {profile['document']['scoring_spec_version']})"
    )
    click.echo(f"  team exercise score (TES): {_value(profile['tes'])}")
    for name, value in profile["components"].items():
        click.echo(f"  {name:<18} {_value(value)}")
    for stage in profile["stages"]:
        detected = "detected" if stage["detected"] else "not detected"
        click.echo(
            f"  stage {stage['stage']} ({stage['tier']}, {stage['status']}): "
            f"{detected}; ack {_minutes(stage['tta'])}, detect "
            f"{_minutes(stage['ttd'])}, contain {_minutes(stage['ttc'])}; "
            f"time score {_value(stage['time_score'])}"
        )
    triage = profile["triage"]
    click.echo(
        f"  triage: {triage['attack_alerts']} attack and {triage['benign_alerts']} "
        f"benign alerts; {triage['fn']} attack closed as benign, {triage['fp']} "
        f"benign escalated, {triage['unhandled_attack']} attack and "
        f"{triage['unhandled_benign']} benign unhandled"
    )
    response = profile["response"]
    click.echo(
        f"  response: {response['done_correct']} of {response['required']} required "
        f"actions; collateral: "
        + (
            ", ".join(f"{c['action']} {c['target']}" for c in response["collateral"])
            or "none"
        )
    )
    crisis = profile["crisis"]
    click.echo(
        f"  crisis messages: {crisis['answered']} of {crisis['shown']} answered, "
        f"{crisis['within_target']} of {crisis['judged']} within target"
    )
    escalate = profile["flags"].get("immediate_escalation") or []
    if escalate:
        click.echo(f"  immediate escalation: {', '.join(map(str, escalate))}")
    for finding in profile["areas_for_improvement"]:
        click.echo(f"  to improve: {finding}")
