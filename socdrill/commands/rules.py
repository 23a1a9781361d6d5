"""``socdrill rules``: check the bundled rule pack, run regression pairs, load corpora.

- ``validate`` -- every pack rule converts; ids and names are unique; tests exist.
- ``test`` -- each pack rule against its sample events (``siem/rules/tests``).
- ``regress DIR`` -- SigmaHQ-style regression pairs (rule.yml + events + info.yml).
- ``load DIR`` -- a whole Sigma corpus: what converts, what does not and why.
- ``hunt`` -- run rules over the events already stored (retro-hunt).
"""

from __future__ import annotations

from pathlib import Path

import click

from siem.corpus import load_corpus
from siem.regress import RegressionError, run_pooled, run_regression
from siem.rules import (
    PackError,
    pack_files,
    rules_dir,
    run_pack_tests,
    validate_pack,
)
from siem.sigma import load_rules


def register(cli: click.Group) -> None:
    cli.add_command(rules)


@click.group()
def rules() -> None:
    """Sigma rules: validate and test the pack, regression pairs, whole corpora."""


_pack_option = click.option(
    "--dir",
    "pack_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Rule pack folder [default: the bundled pack].",
)


@rules.command()
@_pack_option
def validate(pack_dir: Path | None) -> None:
    """Check that every rule of the pack converts and is well described."""
    report = validate_pack(pack_dir)
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    where = pack_dir or rules_dir()
    if not report.ok:
        raise click.ClickException(
            f"{len(report.errors)} problem(s) in the rule pack at {where}"
        )
    click.echo(f"{report.rules} rules valid ({len(report.warnings)} warnings)")


@rules.command("test")
@_pack_option
@click.option("--rule", "only", default=None, help="Only the rule with this name.")
def test_command(pack_dir: Path | None, only: str | None) -> None:
    """Run every rule on its sample events: positives must match, negatives not."""
    try:
        outcomes = run_pack_tests(pack_dir, only=only)
    except PackError as exc:
        raise click.ClickException(str(exc)) from None
    if only is not None and not outcomes:
        raise click.ClickException(f"no test file for a rule named {only!r}")
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        verdict = "did not match" if outcome.kind == "positive" else "matched"
        click.echo(f"{outcome.rule}: {outcome.kind} sample {outcome.index} {verdict}")
    rules_tested = len({o.rule for o in outcomes})
    click.echo(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} samples as expected "
        f"({rules_tested} rules)"
    )
    if failed:
        raise SystemExit(1)


@rules.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--min",
    "min_rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.95,
    show_default=True,
    help="Fail below this share of agreeing pairs.",
)
@click.option(
    "--pooled",
    is_flag=True,
    help="Load every pair's events into one store and run every rule over all.",
)
def regress(folder: Path, min_rate: float, pooled: bool) -> None:
    """Run regression pairs (rule.yml + events.evtx/json + info.yml) under FOLDER.

    A pair agrees when its rule matches at least info.yml's match_count events (at
    least one when absent). One line per pair that does not agree, then a total.
    """
    try:
        if pooled:
            _pooled(folder, min_rate)
            return
        results = run_regression(folder)
    except RegressionError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        if not result.agrees:
            click.echo(result.line())
    agree = sum(r.agrees for r in results)
    click.echo(f"{agree}/{len(results)} pairs agree")
    if agree < min_rate * len(results):
        raise SystemExit(1)


def _pooled(folder: Path, min_rate: float) -> None:
    pooled = run_pooled(folder)
    for entry in pooled:
        own = (
            "fired on its own events" if entry.fired_on_own else "MISSED its own events"
        )
        others = (
            ", ".join(f"{name} ({n})" for name, n in entry.other_pairs.items())
            or "none"
        )
        click.echo(f"{entry.name}: {own} ({entry.own_matches}); also hit: {others}")
    fired = sum(e.fired_on_own for e in pooled)
    click.echo(f"{fired}/{len(pooled)} rules fired on their own events (pooled)")
    if fired < min_rate * len(pooled):
        raise SystemExit(1)


@rules.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="List every rule not converted.")
def load(folder: Path, verbose: bool) -> None:
    """Load a whole Sigma corpus and report what converts and why not."""
    report = load_corpus(folder)
    if verbose:
        for failure in report.failures:
            click.echo(str(failure))
    for line in report.summary_lines():
        click.echo(line)


@rules.command()
@click.option(
    "--siem", "siem_url", default=None, metavar="URL", help="Event store URL."
)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Rule files or folders [default: the bundled pack].",
)
@click.option("--since", default=None, help="Only events at or after this ISO time.")
@click.option("--until", default=None, help="Only events before this ISO time.")
@click.option("--record", is_flag=True, help="Store the hits as alerts.")
def hunt(
    siem_url: str | None,
    rule_paths: tuple[Path, ...],
    since: str | None,
    until: str | None,
    record: bool,
) -> None:
    """Run rules over the events already stored (a retro-hunt)."""
    from siem.detector import retro_hunt
    from socdrill.commands.siem import open_store

    loaded = load_rules(list(rule_paths) or pack_files())
    for failure in loaded.failures:
        click.echo(f"skipped: {failure}", err=True)
    store = open_store(siem_url)
    try:
        report = retro_hunt(store, loaded.rules, start=since, end=until, record=record)
    except ValueError as exc:
        raise click.ClickException(f"bad --since/--until: {exc}") from None
    finally:
        store.close()
    titles = {r.id: r.title for r in loaded.rules}
    for rule_id, ids in sorted(report.matches.items(), key=lambda kv: -len(kv[1])):
        if ids:
            click.echo(f"{len(ids):>8}  {titles[rule_id]} ({rule_id})")
    total = sum(len(ids) for ids in report.matches.values())
    click.echo(
        f"{total} matches from {len(loaded.rules)} rules in {report.seconds:.2f} s"
        + (f", {len(report.alert_ids)} alerts recorded" if record else "")
    )
