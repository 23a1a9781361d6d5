"""``socdrill siem``: ingest, search, detect, inspect and forward the sandbox SIEM.

Every command works on one event store, named by ``--siem URL``; the default is the
``SOCDRILL_SIEM_URL`` environment variable, else ``sqlite:///<instance>/siem.db`` with
the instance folder from ``SOCDRILL_INSTANCE`` (default ``instance``). None of them
needs the web application.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from siem.forwarders import (
    ExerciseMarker,
    ForwardingError,
    NdjsonForwarder,
    SyslogDestination,
    SyslogForwarder,
)
from siem.search import SearchError, iter_events, search
from siem.store import EventStore, StoreError
from simulator.events import Event, Label, parse_iso

F = TypeVar("F", bound=Callable[..., Any])
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
FORWARD_ALLOW_ENV = "SOCDRILL_FORWARD_ALLOW"


def register(cli: click.Group) -> None:
    cli.add_command(siem)


@click.group()
def siem() -> None:
    """Work with the sandbox SIEM's event store from the command line."""


# --- shared options and helpers ------------------------------------------------------


def default_siem_url() -> str:
    """``SOCDRILL_SIEM_URL``, else the store file in the instance folder."""
    url = os.environ.get("SOCDRILL_SIEM_URL", "").strip()
    if url:
        return url
    folder = Path(os.environ.get("SOCDRILL_INSTANCE", "instance")).resolve()
    return f"sqlite:///{folder / 'siem.db'}"


def store_options(command: F) -> F:
    """``--siem`` and ``--tenant``, shared by every command that opens the store."""
    command = click.option(
        "--tenant",
        default="",
        show_default="the default tenant ''",
        help="Tenant whose events are read or written.",
    )(command)
    return click.option(
        "--siem",
        "siem_url",
        default=None,
        metavar="URL",
        help="Event store URL [default: $SOCDRILL_SIEM_URL or "
        "sqlite:///$SOCDRILL_INSTANCE/siem.db].",
    )(command)


def open_store(siem_url: str | None, *, create_folder: bool = False) -> EventStore:
    url = siem_url or default_siem_url()
    if create_folder and siem_url is None and url.startswith("sqlite:///"):
        # The default instance folder is ours to create; an explicit URL's is not.
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        return EventStore.open(url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def read_records(path: Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank NDJSON line; errors name the line."""
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise click.ClickException(
                        f"{path}:{number}: not a JSON {what} record: {exc}"
                    ) from None
                if not isinstance(record, dict):
                    raise click.ClickException(
                        f"{path}:{number}: a {what} record must be a JSON object"
                    )
                yield number, record
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None


def parse_event(path: Path, number: int, record: dict[str, Any]) -> Event:
    try:
        return Event.from_record(record)
    except KeyError as exc:
        raise click.ClickException(
            f"{path}:{number}: event record lacks the {exc.args[0]!r} key "
            "(expected the records 'socdrill generate' writes)"
        ) from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise click.ClickException(
            f"{path}:{number}: bad event record: {exc}"
        ) from None


def parse_label(path: Path, number: int, record: dict[str, Any]) -> Label:
    try:
        return Label(
            uid=str(record["uid"]),
            scenario=str(record["scenario"]),
            stage=str(record["stage"]),
            technique=str(record["technique"]),
            malicious=_boolean(record.get("malicious", True), path, number),
        )
    except KeyError as exc:
        raise click.ClickException(
            f"{path}:{number}: label record lacks the {exc.args[0]!r} key"
        ) from None


def _boolean(value: Any, path: Path, number: int) -> bool:
    if not isinstance(value, bool):
        raise click.ClickException(
            f"{path}:{number}: 'malicious' must be true or false"
        )
    return value


def events_in(path: Path) -> Iterator[Event]:
    for number, record in read_records(path, "event"):
        yield parse_event(path, number, record)


# --- ingest ------------------------------------------------------------------------


@siem.command("ingest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_options
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ground-truth labels (NDJSON from 'socdrill generate --truth'), kept apart.",
)
@click.option("--exercise", default=None, help="Exercise id to tag the events with.")
@click.option(
    "--on-duplicate",
    type=click.Choice(["ignore", "error"]),
    default="ignore",
    show_default=True,
    help="What to do with events whose uid is already stored.",
)
def ingest_command(
    file: Path,
    siem_url: str | None,
    tenant: str,
    truth: Path | None,
    exercise: str | None,
    on_duplicate: str,
) -> None:
    """Store the NDJSON event records of FILE (as written by 'socdrill generate').

    The whole file (and the labels file) is checked first: a malformed line stops the
    command with its line number and nothing is stored.
    """
    uids: set[str] = set()
    for number, record in read_records(file, "event"):
        uid = parse_event(file, number, record).uid
        if uid in uids and on_duplicate == "error":
            raise click.ClickException(f"{file}:{number}: uid {uid!r} appears twice")
        uids.add(uid)
    labels = []
    if truth is not None:
        labels = [
            parse_label(truth, number, record)
            for number, record in read_records(truth, "label")
        ]
    store = open_store(siem_url, create_folder=True)
    try:
        unknown = {label.uid for label in labels} - uids
        unknown -= stored_uids(store, unknown)
        if unknown:
            shown = ", ".join(sorted(unknown)[:5])
            raise click.ClickException(
                f"{truth}: {len(unknown)} label(s) name events that are neither in "
                f"{file} nor stored: {shown}"
            )
        if on_duplicate == "error":
            already = stored_uids(store, uids)
            if already:
                shown = ", ".join(sorted(already)[:5])
                raise click.ClickException(
                    f"{len(already)} event(s) of {file} are already stored: {shown}"
                )
        before = store.count()
        try:
            span = store.insert(
                events_in(file),
                tenant=tenant,
                exercise=exercise,
                on_duplicate=on_duplicate,  # type: ignore[arg-type]
            )
            stored_labels = store.insert_labels(labels, exercise=exercise)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        added = store.count() - before
    finally:
        store.close()
    skipped = len(uids) - added
    parts = [f"stored {added} events"]
    if added and not span.empty:
        parts[0] += f" (ids {span.first}-{span.last})"
    if skipped:
        parts.append(f"skipped {skipped} already stored")
    if labels:
        parts.append(f"{stored_labels} ground-truth labels")
    click.echo(", ".join(parts))


def stored_uids(store: EventStore, uids: set[str]) -> set[str]:
    """Which of ``uids`` the store already holds (any tenant: uids are global)."""
    found: set[str] = set()
    ordered = sorted(uids)
    with store.connect() as conn:
        for at in range(0, len(ordered), 500):
            chunk = ordered[at : at + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.exec_driver_sql(
                f"SELECT uid FROM events WHERE uid IN ({marks})",  # noqa: S608
                tuple(chunk),
            )
            found.update(uid for (uid,) in rows)
    return found


# --- search ------------------------------------------------------------------------


@siem.command("search")
@click.argument("query")
@store_options
@click.option("--from", "start", default=None, help="Earliest time (ISO 8601).")
@click.option("--to", "end", default=None, help="Latest time, exclusive (ISO 8601).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def search_command(
    query: str,
    siem_url: str | None,
    tenant: str,
    start: str | None,
    end: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Search events with Lucene syntax, newest first.

    \b
    Examples:
      socdrill siem search 'host:WS-01 AND CommandLine:*whoami*'
      socdrill siem search 'EventID:[4624 TO 4625] -TargetUserName:svc_*'
      socdrill siem search '"failed password"' --from 2026-03-02T08:00:00Z
    """
    store = open_store(siem_url)
    try:
        result = search(store, query, tenant=tenant, start=start, end=end, limit=limit)
    except SearchError as exc:
        raise click.ClickException(_search_error(query, exc)) from None
    finally:
        store.close()
    for event in result.events:
        if as_json:
            click.echo(orjson.dumps(event).decode())
        else:
            raw = event["raw"].replace("\n", " ")
            click.echo(
                f"{event['ts']}  {event['host'] or '-'}  {event['sensor']}  {raw}"
            )
    plus = "" if result.total_exact else "+"
    shown = f"{len(result.events)} of {result.total}{plus} events"
    click.echo(f"{shown} ({result.took_ms:.1f} ms)", err=True)


def _search_error(query: str, exc: SearchError) -> str:
    if exc.position is None:
        return exc.message
    caret = " " * exc.position + "^"
    return f"{exc.message}\n  {query}\n  {caret}"


# --- detect ------------------------------------------------------------------------


@siem.command("detect")
@click.option(
    "--siem", "siem_url", default=None, metavar="URL", help="Event store URL."
)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Rule files or folders to use instead of the bundled pack (repeatable).",
)
def detect_command(siem_url: str | None, rule_paths: tuple[Path, ...]) -> None:
    """Run the rule pack once over the events stored since the last run."""
    try:
        from siem.detector import Detector, DetectorError
        from siem.rules import load_pack_report
        from siem.sigma import for_dialect, load_rules
    except ImportError as exc:
        raise click.ClickException(
            f"the detection engine is unavailable: {exc}"
        ) from None
    loaded = load_rules(list(rule_paths)) if rule_paths else load_pack_report()
    for failure in loaded.failures:
        click.echo(f"skipped rule {failure}", err=True)
    if not loaded.rules:
        raise click.ClickException("no usable rules were loaded")
    store = open_store(siem_url)
    try:
        rules = [for_dialect(rule, store.dialect) for rule in loaded.rules]
        report = Detector(store, rules).tick()
    except (DetectorError, StoreError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(
        f"examined {report.events} events (ids {report.first_id}-{report.last_id}) "
        f"with {report.rules_run} of {len(loaded.rules)} rules: {report.matches} "
        f"matches, {len(report.alert_ids)} alerts ({report.seconds * 1000:.0f} ms)"
    )


# --- stats -------------------------------------------------------------------------


@siem.command("stats")
@click.option(
    "--siem", "siem_url", default=None, metavar="URL", help="Event store URL."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats_command(siem_url: str | None, as_json: bool) -> None:
    """Events stored, their time span, size on disk and events per sensor."""
    store = open_store(siem_url)
    try:
        bounds = store.time_bounds()
        with store.connect() as conn:
            per_sensor = conn.exec_driver_sql(
                "SELECT sensor, count(*) FROM events GROUP BY sensor ORDER BY 2 DESC"
            ).all()
            per_tenant = conn.exec_driver_sql(
                "SELECT tenant, count(*) FROM events GROUP BY tenant ORDER BY 1"
            ).all()
        stats = {
            "events": store.count(),
            "oldest": _iso(bounds[0]) if bounds else None,
            "newest": _iso(bounds[1]) if bounds else None,
            "size_bytes": store.size_bytes(),
            "sensors": dict(per_sensor),  # type: ignore[arg-type]
            "tenants": dict(per_tenant),  # type: ignore[arg-type]
        }
    finally:
        store.close()
    if as_json:
        click.echo(orjson.dumps(stats).decode())
        return
    click.echo(f"events      {stats['events']:,}")
    click.echo(f"oldest      {stats['oldest'] or '-'}")
    click.echo(f"newest      {stats['newest'] or '-'}")
    click.echo(f"size        {stats['size_bytes'] / 2**20:,.1f} MiB")
    for sensor, n in stats["sensors"].items():
        click.echo(f"  {sensor:<24} {n:>12,}")


def _iso(ts: float) -> str:
    from simulator.events import iso_ms

    return iso_ms(ts)


# --- forward -----------------------------------------------------------------------


@siem.command("forward")
@store_options
@click.option(
    "--syslog", "syslog_url", metavar="URL", help="udp://HOST:PORT or tcp://…"
)
@click.option(
    "--ndjson",
    "ndjson_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append NDJSON records to this file instead.",
)
@click.option("--exercise", "exercise_id", required=True, help="Exercise id (marker).")
@click.option("--exercise-name", default="", help="Exercise name shown in the marker.")
@click.option("--query", default="*", show_default=True, help="Which events to send.")
@click.option("--from", "start", default=None, help="Earliest time (ISO 8601).")
@click.option("--to", "end", default=None, help="Latest time, exclusive (ISO 8601).")
@click.option("--cef", is_flag=True, help="Send CEF records as the syslog message.")
@click.option(
    "--allow",
    "allowed",
    multiple=True,
    metavar="HOST",
    help=f"Allow this syslog host (repeatable; also ${FORWARD_ALLOW_ENV}, "
    "comma-separated). Loopback is always allowed.",
)
def forward_command(
    siem_url: str | None,
    tenant: str,
    syslog_url: str | None,
    ndjson_path: Path | None,
    exercise_id: str,
    exercise_name: str,
    query: str,
    start: str | None,
    end: str | None,
    cef: bool,
    allowed: tuple[str, ...],
) -> None:
    """Send stored events, marked as exercise traffic, to a real SIEM.

    \b
    Examples:
      socdrill siem forward --syslog udp://127.0.0.1:514 --exercise drill-7
      socdrill siem forward --syslog tcp://siem.corp.test:6514 --allow siem.corp.test \\
          --exercise drill-7 --query 'product:windows' --cef
      socdrill siem forward --ndjson export.ndjson --exercise drill-7
    """
    if (syslog_url is None) == (ndjson_path is None):
        raise click.UsageError("give exactly one destination: --syslog URL or --ndjson")
    try:
        marker = ExerciseMarker(exercise_id, exercise_name)
        forwarder: SyslogForwarder | NdjsonForwarder
        if syslog_url is not None:
            from_env = os.environ.get(FORWARD_ALLOW_ENV, "").split(",")
            forwarder = SyslogForwarder(
                SyslogDestination.parse(syslog_url),
                allowed_hosts=[*LOOPBACK_HOSTS, *allowed, *from_env],
                marker=marker,
                payload="cef" if cef else "raw",
            )
        else:
            assert ndjson_path is not None  # noqa: S101 - checked above
            forwarder = NdjsonForwarder(ndjson_path, marker=marker)
    except ForwardingError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store(siem_url)
    try:
        rows = iter_events(store, query, tenant=tenant, start=start, end=end)
        sent = forwarder.send(_as_event(row) for row in rows)
    except SearchError as exc:
        raise click.ClickException(_search_error(query, exc)) from None
    except ForwardingError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if isinstance(forwarder, SyslogForwarder):
            forwarder.close()
        store.close()
    where = syslog_url or str(ndjson_path)
    click.echo(f"forwarded {sent} events to {where} marked exercise {exercise_id}")


def _as_event(row: dict[str, Any]) -> Event:
    return Event(
        uid=row["uid"],
        ts=parse_iso(row["ts"]),
        sensor=row["sensor"],
        host=row["host"],
        product=row["product"] or None,
        category=row["category"] or None,
        service=row["service"] or None,
        fields=row["fields"],
        raw=row["raw"],
    )
