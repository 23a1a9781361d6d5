"""``socdrill generate``: write synthetic logs (noise plus an optional attack).

The output is a pure function of the options: the same scenario, seed, hours, sizes,
profile and start give byte-identical files. Without ``--start`` the logs begin at
:data:`DEFAULT_START`, a Monday morning, so default runs are reproducible too.
"""

from __future__ import annotations

import heapq
import os
import sys
from collections.abc import Iterable, Iterator
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import IO

import click

from simulator.events import Event, Label, dumps, parse_iso
from simulator.ndjson import record_line
from simulator.scenario import ScenarioError, load_scenario
from simulator.scenario.durations import DurationError, parse_duration

DEFAULT_START = "2026-03-02T08:00:00Z"
MAX_HOURS = 24 * 31
# Redraw the progress bar after this many events, not on every one.
_PROGRESS_EVERY = 20_000


def register(cli: click.Group) -> None:
    cli.add_command(generate)


@click.command()
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Scenario whose attack is mixed into the noise (noise only without it).",
)
@click.option("--seed", type=int, required=True, help="Seed for everything generated.")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True, max=MAX_HOURS),
    required=True,
    help="How many hours of logs to write.",
)
@click.option(
    "--org-size",
    type=click.Choice(["tiny", "small", "medium", "large"]),
    default="small",
    show_default=True,
)
@click.option(
    "--noise-profile",
    type=click.Choice(["office_hours", "24x7", "quiet"]),
    default="office_hours",
    show_default=True,
)
@click.option(
    "--start",
    default=DEFAULT_START,
    show_default=True,
    help="ISO-8601 time of the first second of logs (UTC unless an offset is given).",
)
@click.option(
    "--attack-at",
    default="0m",
    show_default=True,
    help="When the scenario starts, as an offset from --start (e.g. '2h').",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="Output file.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["ndjson", "raw"]),
    default="ndjson",
    show_default=True,
    help="ndjson: one event record per line; raw: each sensor's native line.",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the ground-truth labels of attack events (NDJSON) here.",
)
def generate(
    scenario_file: str | None,
    seed: int,
    hours: float,
    org_size: str,
    noise_profile: str,
    start: str,
    attack_at: str,
    out: str,
    output_format: str,
    truth: str | None,
) -> None:
    """Write synthetic logs: background noise merged in time order with an attack."""
    start_ts = _parse_start(start)
    try:
        attack_offset = parse_duration(attack_at)
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--attack-at") from None
    end_ts = start_ts + hours * 3600

    from simulator.binding import BindingError
    from simulator.environment import Organisation
    from simulator.noise import NoiseGenerator

    org = Organisation.build(seed, org_size)
    attack: list[Event] = []
    labels: dict[str, Label] = {}
    if scenario_file:
        try:
            attack, labels = _attack(scenario_file, org, seed, start_ts + attack_offset)
        except ScenarioError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise SystemExit(1) from None
        except BindingError as exc:
            raise click.ClickException(f"{exc} (try a larger --org-size)") from None
    noise = NoiseGenerator(org, seed, noise_profile)
    if output_format == "ndjson":
        # Record lines straight from the generator: compiled noise shapes are
        # written without building their events (the same bytes as the events').
        lines = _window_lines(
            heapq.merge(
                noise.lines(start_ts, end_ts), _attack_lines(attack, labels), key=_TS
            ),
            end_ts,
        )
        write = partial(
            _write_lines, lines=lines, truth=truth, span=hours * 3600, start=start_ts
        )
    else:
        events = _window(
            heapq.merge(noise.window(start_ts, end_ts), attack, key=_ts), end_ts
        )
        write = partial(
            _write_events,
            events=events,
            labels=labels,
            truth=truth,
            span=hours * 3600,
            start=start_ts,
        )
    written = _write_atomically(Path(out), write)
    dropped = sum(1 for e in attack if e.ts >= end_ts)
    click.echo(f"wrote {written} events to {out}", err=True)
    if dropped:
        click.echo(
            f"note: {dropped} attack events fall after the end of the window "
            "(raise --hours to include them)",
            err=True,
        )


def _parse_start(text: str) -> float:
    try:
        return parse_iso(text)
    except ValueError:
        raise click.BadParameter(
            f"'{text}' is not an ISO-8601 time such as {DEFAULT_START}",
            param_hint="--start",
        ) from None


def _attack(
    scenario_file: str, org: object, seed: int, start: float
) -> tuple[list[Event], dict[str, Label]]:
    from simulator.timeline import Timeline

    scenario = load_scenario(Path(scenario_file))
    outcomes = Timeline(scenario, org, seed, start).run()  # type: ignore[arg-type]
    events = [e for o in outcomes for e in o.events]
    events.sort(key=lambda e: (e.ts, e.uid))
    labels = {label.uid: label for o in outcomes for label in o.labels}
    return events, labels


def _ts(event: Event) -> float:
    return event.ts


_TS = itemgetter(0)  # the time of a (time, line[, label]) tuple
# One line of output: its time, its NDJSON record line and, for an attack event,
# the ground-truth label that goes with it.
Line = tuple[float, bytes] | tuple[float, bytes, Label | None]


def _attack_lines(
    attack: list[Event], labels: dict[str, Label]
) -> list[tuple[float, bytes, Label | None]]:
    return [(e.ts, record_line(e), labels.get(e.uid)) for e in attack]


def _window_lines(lines: Iterable[Line], end: float) -> Iterator[Line]:
    for line in lines:
        if line[0] >= end:
            return
        yield line


def _window(events: Iterable[Event], end: float) -> Iterator[Event]:
    for event in events:
        if event.ts >= end:
            return
        yield event


def _write_lines(
    handle: IO[bytes],
    lines: Iterable[Line],
    truth: str | None,
    span: float,
    start: float,
) -> int:
    """Write NDJSON record lines (noise and attack merged); return how many."""
    truth_lines: list[bytes] = []
    count = 0
    write = handle.write
    with click.progressbar(
        length=max(1, int(span)), label="generating", file=sys.stderr
    ) as bar:
        shown = 0
        for item in lines:
            write(item[1])
            count += 1
            if len(item) == 3:  # an attack event
                label = item[2]  # type: ignore[misc]
                if label is not None:
                    truth_lines.append(dumps(label.to_record()) + b"\n")
            if count % _PROGRESS_EVERY == 0:
                now = int(item[0] - start)
                bar.update(now - shown)
                shown = now
        bar.update(int(span) - shown)
    if truth:
        _write_atomically(Path(truth), lambda h: h.writelines(truth_lines) or 0)
    return count


def _write_events(
    handle: IO[bytes],
    events: Iterable[Event],
    labels: dict[str, Label],
    truth: str | None,
    span: float,
    start: float,
) -> int:
    """Write each event's native raw line; return how many."""
    truth_lines: list[bytes] = []
    count = 0
    with click.progressbar(
        length=max(1, int(span)), label="generating", file=sys.stderr
    ) as bar:
        shown = 0
        for event in events:
            handle.write(event.raw.encode("utf-8") + b"\n")
            label = labels.get(event.uid)
            if label is not None:
                truth_lines.append(dumps(label.to_record()) + b"\n")
            count += 1
            if count % _PROGRESS_EVERY == 0:
                now = int(event.ts - start)
                bar.update(now - shown)
                shown = now
        bar.update(int(span) - shown)
    if truth:
        _write_atomically(Path(truth), lambda h: h.writelines(truth_lines) or 0)
    return count


def _write_atomically(path: Path, write: object) -> int:
    """Write through a temporary file so a failed run leaves no half-written output."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("wb") as handle:
            result = write(handle)  # type: ignore[operator]
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return int(result or 0)
