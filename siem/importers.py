"""Import recorded logs into the event store: EVTX, EVTX-as-JSON and NDJSON.

Accepted inputs (:func:`read_events` detects which from the content, not the name):

- **EVTX** -- Windows event log files, parsed by the ``evtx`` package.
- **EVTX as JSON** -- ``{"Event": {"System": {...}, "EventData": {...}}}`` objects,
  concatenated (pretty-printed or not) or one per line, as EVTX-to-JSON converters
  write them.
- **NDJSON** -- one object per line: socdrill's own record format
  (:meth:`simulator.events.Event.to_record`), an ECS-shaped document (``@timestamp``,
  ``host.name``, ``process.command_line`` …) or a flat object of fields.

Windows events are flattened the way SigmaHQ rules expect: System gives ``EventID``,
``Channel``, ``Computer``, ``Provider_Name``, ``EventRecordID`` …; every EventData and
UserData value is a field under its own name with spaces removed (``Source Name`` ->
``SourceName``). The logsource comes from the channel and EventID (see
:mod:`siem.logsources`). Security 4688 events also get ``Image`` and ``ParentImage``
(copies of ``NewProcessName`` and ``ParentProcessName``) so process_creation rules
see them, as they see Sysmon 1.

Whitespace policy (the same for EVTX and JSON input): leading and trailing whitespace
of every Windows string value is removed; whitespace inside a value is kept. EVTX
files keep trailing blanks that JSON exports trim, so without one policy the same
event would match ``CommandLine|endswith: 'chcp'`` in one form and not the other.
Socdrill's own NDJSON records are stored exactly as written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from siem.fields import ECS_ALIASES
from siem.logsources import windows_logsource
from siem.store import EventStore
from simulator.events import Event, parse_iso

EVTX_MAGIC = b"ElfFile\x00"

#: Windows service -> socdrill sensor id for imported events.
_SENSORS = {
    "sysmon": "sysmon",
    "security": "windows_security",
    "system": "windows_system",
    "powershell": "powershell",
    "powershell-classic": "powershell",
}


class LogImportError(Exception):
    """The input could not be read; the message names the file, position and problem."""


@dataclass(slots=True, frozen=True)
class ImportResult:
    """What one import did."""

    path: str
    read: int
    stored: int
    first_id: int
    last_id: int

    @property
    def duplicates(self) -> int:
        return self.read - self.stored


# ---------------------------------------------------------------------------
# entry points


def import_file(
    store: EventStore,
    path: str | Path,
    *,
    tenant: str = "",
    exercise: str | None = None,
) -> ImportResult:
    """Read ``path`` (any accepted format) into ``store``.

    The whole file is parsed before anything is stored, so a malformed file changes
    nothing. Events already stored (same uid, e.g. the same log imported twice) are
    skipped and counted as duplicates.
    """
    events = list(read_events(path))
    before = store.count()
    span = store.insert(events, tenant=tenant, exercise=exercise, on_duplicate="ignore")
    stored = store.count() - before
    return ImportResult(str(path), len(events), stored, span.first, span.last)


def read_events(path: str | Path) -> Iterator[Event]:
    """Events of one file, whichever accepted format it is in."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(EVTX_MAGIC))
    except OSError as exc:
        raise LogImportError(f"{path}: cannot read: {exc.strerror}") from exc
    if head == EVTX_MAGIC:
        yield from read_evtx(path)
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LogImportError(
            f"{path}: neither an EVTX file nor UTF-8 JSON text ({exc.reason} at "
            f"byte {exc.start})"
        ) from exc
    for position, raw, obj in _json_objects(text, str(path)):
        yield event_from_object(obj, raw, where=f"{path}:{position}")


def read_evtx(path: str | Path) -> Iterator[Event]:
    """Events of an EVTX file (raw = the record rendered as JSON by ``evtx``)."""
    import evtx

    try:
        parser = evtx.PyEvtxParser(str(path))
        records = list(parser.records_json())
    except (OSError, RuntimeError) as exc:
        raise LogImportError(f"{path}: not a readable EVTX file: {exc}") from exc
    for record in records:
        raw = record["data"]
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise LogImportError(
                f"{path}: record {record.get('event_record_id')}: bad JSON from the "
                f"EVTX parser: {exc}"
            ) from exc
        yield windows_event(obj, raw, where=f"{path}#{record.get('event_record_id')}")


def _json_objects(text: str, name: str) -> Iterator[tuple[int, str, Any]]:
    """(line, source text, object) for concatenated or line-separated JSON objects."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return
        line = text.count("\n", 0, index) + 1
        try:
            obj, stop = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise LogImportError(
                f"{name}:{exc.lineno}: invalid JSON: {exc.msg}"
            ) from exc
        if not isinstance(obj, dict):
            raise LogImportError(f"{name}:{line}: expected a JSON object per event")
        yield line, text[index:stop], obj
        index = stop


# ---------------------------------------------------------------------------
# shapes


def event_from_object(obj: dict[str, Any], raw: str, *, where: str = "") -> Event:
    """One event from a JSON object of any accepted shape."""
    if isinstance(obj.get("Event"), dict) and "System" in obj["Event"]:
        return windows_event(obj, raw, where=where)
    if {"uid", "ts", "fields", "raw"} <= obj.keys():
        try:
            return Event.from_record(obj)
        except (KeyError, ValueError, TypeError) as exc:
            raise LogImportError(f"{where}: malformed socdrill record: {exc}") from exc
    if "@timestamp" in obj:
        return _ecs_event(obj, raw, where)
    return _flat_event(obj, raw, where)


def windows_event(obj: dict[str, Any], raw: str, *, where: str = "") -> Event:
    """Flatten ``{"Event": {"System", "EventData"|"UserData"}}`` into an Event."""
    event = obj.get("Event")
    if not isinstance(event, dict) or not isinstance(event.get("System"), dict):
        raise LogImportError(f"{where}: not a Windows event (no Event.System)")
    system = event["System"]
    fields: dict[str, Any] = {}
    _flatten_system(system, fields)
    for block in ("EventData", "UserData"):
        data = event.get(block)
        if isinstance(data, dict):
            _flatten_data(data, fields)
        elif isinstance(data, str | int) and data != "":
            fields.setdefault("Data", _clean(data))
    if fields.get("EventID") is None:
        raise LogImportError(f"{where}: Windows event without System.EventID")
    if fields.get("EventID") == 4688 and fields.get("Channel") == "Security":
        for alias, source in (
            ("Image", "NewProcessName"),
            ("ParentImage", "ParentProcessName"),
        ):
            if source in fields:
                fields.setdefault(alias, fields[source])
    system_time = fields.pop("_SystemTime", None)
    try:
        ts = parse_iso(str(system_time)) if system_time else 0.0
    except ValueError as exc:
        raise LogImportError(f"{where}: bad TimeCreated {system_time!r}") from exc
    channel = str(fields.get("Channel") or "")
    event_id = fields.get("EventID")
    product, category, service = windows_logsource(
        channel,
        event_id if isinstance(event_id, int) else None,
        str(fields.get("EventType") or ""),
    )
    computer = str(fields.get("Computer") or "")
    identity = (
        f"{computer}\x1f{channel}\x1f{fields.get('EventRecordID')}\x1f{system_time}"
    )
    return Event(
        uid="win-" + hashlib.blake2b(identity.encode(), digest_size=12).hexdigest(),
        ts=ts,
        sensor=_SENSORS.get(service or "", f"windows_{service or 'eventlog'}"),
        host=computer,
        product=product,
        category=category,
        service=service,
        fields=fields,
        raw=raw,
    )


def _flatten_system(system: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in system.items():
        if key == "Provider":
            for attr, attr_value in _attributes(value).items():
                fields[f"Provider_{attr}"] = _clean(attr_value)
        elif key == "TimeCreated":
            fields["_SystemTime"] = _attributes(value).get("SystemTime")
        elif key == "EventID":
            fields["EventID"] = _integer(_text(value))
        elif key in ("Execution", "Security", "Correlation"):
            for attr, attr_value in _attributes(value).items():
                # prefixed: System's ProcessID must not shadow EventData's ProcessId
                fields[f"{key}_{attr}"] = _clean(attr_value)
        elif not isinstance(value, dict | list):
            fields[key] = _clean(value)
        else:
            fields[key] = _clean(_text(value))


def _flatten_data(data: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in data.items():
        if key == "#attributes":
            continue
        if key == "Data" and not isinstance(value, str | int | None):
            # unnamed <Data> elements: one string or a list of them
            text = _text(value)
            if isinstance(text, list):
                text = "\n".join(str(v) for v in text if v is not None)
            fields.setdefault("Data", _clean(text))
            continue
        if isinstance(value, dict) and "#text" not in value:
            _flatten_data(value, fields)  # UserData wraps its values in an element
            continue
        name = key.replace(" ", "")
        if name not in fields:
            fields[name] = _clean(_text(value))


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        attrs = value.get("#attributes")
        return attrs if isinstance(attrs, dict) else {}
    return {}


def _text(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("#text")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _clean(value: Any) -> Any:
    """The whitespace policy: surrounding whitespace of strings removed."""
    return value.strip() if isinstance(value, str) else value


def _ecs_event(obj: dict[str, Any], raw: str, where: str) -> Event:
    flat = _flatten_dotted(obj)
    fields: dict[str, Any] = {}
    for key, value in flat.items():
        target = ECS_ALIASES.get(key)
        if target in ("ts", "host"):
            continue
        fields[target or key] = value
    try:
        ts = parse_iso(str(flat["@timestamp"]))
    except (KeyError, ValueError) as exc:
        raise LogImportError(f"{where}: bad @timestamp in ECS document") from exc
    host = str(flat.get("host.name") or flat.get("host.hostname") or "")
    return Event(
        uid=_content_uid(raw),
        ts=ts,
        sensor=str(flat.get("event.module") or flat.get("agent.type") or "ecs"),
        host=host,
        product=_optional(flat.get("event.module")),
        category=_optional(flat.get("event.dataset")),
        service=None,
        fields=fields,
        raw=raw,
    )


def _flat_event(obj: dict[str, Any], raw: str, where: str) -> Event:
    stamp = next(
        (obj[k] for k in ("ts", "timestamp", "time", "UtcTime") if k in obj), None
    )
    if stamp is None:
        raise LogImportError(
            f"{where}: unrecognised JSON object: not a socdrill record, a Windows "
            "event or an ECS document, and no ts/timestamp/time field"
        )
    try:
        ts = float(stamp) if isinstance(stamp, int | float) else parse_iso(str(stamp))
    except ValueError as exc:
        raise LogImportError(f"{where}: bad timestamp {stamp!r}") from exc
    host = str(obj.get("host") or obj.get("Computer") or obj.get("hostname") or "")
    return Event(
        uid=str(obj.get("uid") or _content_uid(raw)),
        ts=ts,
        sensor=str(obj.get("sensor") or "json"),
        host=host,
        product=_optional(obj.get("product")),
        category=_optional(obj.get("category")),
        service=_optional(obj.get("service")),
        fields={k: v for k, v in obj.items() if k not in ("uid", "sensor")},
        raw=raw,
    )


def _flatten_dotted(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten_dotted(value, name + "."))
        else:
            out[name] = value
    return out


def _optional(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _content_uid(raw: str) -> str:
    return "imp-" + hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()
