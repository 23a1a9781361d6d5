"""Compiled Windows events: the fast path the noise generator uses.

Background noise repeats the same few thousand shapes (this host's Chrome loading
this DLL, this user's Outlook talking to that server) with different times and ids.
A :class:`WindowsRecipe` is one such shape filled once by the sensor's own fill logic;
each event then only renders what changes (times, record numbers, process and thread
ids, ports) into the pre-split raw line. Output is the same as the sensor's full
path; the split is done with a regex once, at compile time, never per event.

A recipe can also write its event straight as the NDJSON record line
(:meth:`WindowsRecipe.line`), byte-identical to ``simulator.ndjson.record_line`` of
the event, without building the event at all: batch generation's fast path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson

from simulator.events import Event
from simulator.fill import MILLIS, SECONDS, record_offset, running_process

if TYPE_CHECKING:
    from simulator.environment import Host
    from simulator.sensors.base import SensorContext
    from simulator.sensors.windows import EventSpec, WindowsSensor

_SLOT = re.compile(r'"@@V(\d+)@@"')
_LINE_SLOT = re.compile(r"@@[VI](\d+)@@")
Compute = Callable[["SensorContext", float], tuple[Any, ...]]
# Slots of a record line beyond the event's own values.
_UID, _TS = 90, 91
# Separates the drawn values of one event while they are encoded together. Drawn
# values are times, ids, numbers and GUIDs, text JSON writes as it is, so they
# never hold a control character such as this one.
_SEPARATOR = b"\x1f"


def _sentinel(i: int) -> str:
    return f"@@V{i}@@"


def _int_sentinel(i: int) -> str:
    return f"@@I{i}@@"


class WindowsRecipe:
    """One pre-filled Windows event shape; call it with a uid, a time and a context."""

    __slots__ = (
        "compute",
        "fields",
        "host",
        "keys",
        "line_format",
        "line_pick",
        "value_format",
        "logsource",
        "order",
        "pieces",
        "process_id",
        "record_base",
        "record_key",
        "sensor_id",
        "unsafe",
    )

    def __init__(
        self,
        sensor: WindowsSensor,
        host: Host,
        spec: EventSpec,
        data: dict[str, Any],
        volatile: tuple[str, ...],
        compute: Compute,
        security_sid: str | None,
        process_id: int,
        unsafe: frozenset[str] = frozenset(),
    ) -> None:
        template = sensor._template(
            host.fqdn, spec, security_sid, "EventData", host.kind
        )
        self.sensor_id = sensor.id
        self.host = host.name
        self.logsource = spec.logsource
        self.record_base = template.record_base
        self.record_key = template.record_key
        self.process_id = process_id
        self.fields = template.fields.copy()
        self.fields["Execution_ProcessID"] = process_id
        self.fields.update(data)
        self.keys = volatile
        self.compute = compute
        self.unsafe = tuple(k in unsafe for k in volatile)
        shaped = dict(data)
        for i, key in enumerate(volatile):
            shaped[key] = _sentinel(3 + i)
        raw = (
            f'{template.head}"TimeCreated":{{"#attributes":{{"SystemTime":'
            f'"{_sentinel(0)}"}}}},"EventRecordID":"{_sentinel(1)}","Correlation":null,'
            f'"Execution":{{"#attributes":{{"ProcessID":{process_id},"ThreadID":'
            f'"{_sentinel(2)}"}}}},{template.tail}{orjson.dumps(shaped).decode()}'
            f"{template.end}"
        )
        parts = _SLOT.split(raw)
        self.pieces = tuple(parts[0::2])
        self.order = tuple(int(i) for i in parts[1::2])
        # The record-line template, built on first use (b"" when not possible).
        self.line_format: bytes | None = None
        self.line_pick: Callable[[list[bytes]], tuple[bytes, ...]] = tuple
        self.value_format = ""

    # --- what changes per event ---------------------------------------------

    def draw(self, ctx: SensorContext, ts: float) -> list[Any]:
        """[TimeCreated, EventRecordID, ThreadID, *volatile values] for ``ts``."""
        rng = ctx.rng
        values = self.compute(ctx, ts)
        counters = ctx.counters
        record = self.record_base + record_offset(ts)
        previous = counters.get(self.record_key, 0)
        if record <= previous:
            record = previous + 1
        counters[self.record_key] = record
        whole, millis = divmod(int(ts * 1000 + 0.5), 1000)
        micros = MILLIS[rng.getrandbits(10) % 1000]
        created = f"{SECONDS[whole][0]}.{MILLIS[millis]}{micros}Z"
        return [created, record, 4 * (64 + rng.getrandbits(12)), *values]

    def __call__(self, uid: str, ts: float, ctx: SensorContext) -> Event:
        drawn = self.draw(ctx, ts)
        fields = self.fields.copy()
        fields["TimeCreated"] = drawn[0]
        fields["EventRecordID"] = drawn[1]
        fields["Execution_ThreadID"] = drawn[2]
        rendered = [f'"{drawn[0]}"', str(drawn[1]), str(drawn[2])]
        for key, value, unsafe in zip(self.keys, drawn[3:], self.unsafe, strict=True):
            fields[key] = value
            if type(value) is int:
                rendered.append(str(value))
            elif unsafe:
                rendered.append(orjson.dumps(value).decode())
            else:
                rendered.append(f'"{value}"')
        pieces = self.pieces
        out = [pieces[0]]
        for n, slot in enumerate(self.order, 1):
            out.append(rendered[slot])
            out.append(pieces[n])
        ls = self.logsource
        return Event(
            uid,
            ts,
            self.sensor_id,
            self.host,
            ls.product,
            ls.category,
            ls.service,
            fields,
            "".join(out),
        )

    # --- straight to NDJSON ----------------------------------------------------

    def line(self, uid: str, ts: float, ctx: SensorContext) -> bytes | None:
        """The event's NDJSON record line, or None when this shape cannot do that.

        Draws exactly what :meth:`__call__` draws, so either path leaves the
        context (and so every later event) the same.
        """
        if self.line_format is None:
            self._compile_line(uid)
        if not self.line_format:
            return None
        whole, millis = divmod(int(ts * 1000 + 0.5), 1000)
        stamp = f"{SECONDS[whole][0]}.{MILLIS[millis]}Z"
        # The drawn values are ASCII text and numbers: one short str format, one
        # encode and one split turn them into the bytes the template takes.
        text = self.value_format % (*self.draw(ctx, ts), uid, stamp)
        return self.line_format % self.line_pick(text.encode().split(_SEPARATOR))

    def _compile_line(self, uid: str) -> None:
        """Pre-render the record line as a bytes template with one ``%s`` per slot.

        Shapes with text needing escapes opt out (an empty template). The static
        text is encoded once here: the records hold non-ASCII text (``Microsoft®``)
        and encoding a whole line per event would cost more than building it.
        """
        if any(self.unsafe) or not uid.isascii() or '"' in uid or "\\" in uid:
            self.line_format = b""
            return
        ints = {1, 2} | {
            3 + i for i, k in enumerate(self.keys) if type(self.fields[k]) is int
        }
        fields = self.fields.copy()
        fields["TimeCreated"] = _sentinel(0)
        fields["EventRecordID"] = _int_sentinel(1)
        fields["Execution_ThreadID"] = _int_sentinel(2)
        rendered = [f'"{_sentinel(0)}"', _int_sentinel(1), _int_sentinel(2)]
        for i, key in enumerate(self.keys, 3):
            if i in ints:
                fields[key] = _int_sentinel(i)
                rendered.append(_int_sentinel(i))
            else:
                fields[key] = _sentinel(i)
                rendered.append(f'"{_sentinel(i)}"')
        out = [self.pieces[0]]
        for n, slot in enumerate(self.order, 1):
            out.append(rendered[slot])
            out.append(self.pieces[n])
        ls = self.logsource
        record = {
            "uid": _sentinel(_UID),
            "ts": _sentinel(_TS),
            "sensor": self.sensor_id,
            "host": self.host,
            "logsource": {
                "product": ls.product,
                "category": ls.category,
                "service": ls.service,
            },
            "fields": fields,
            "raw": "".join(out),
        }
        text = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode()
        for i in ints:  # numbers stand bare in the fields, unlike strings
            text = text.replace(f'"{_int_sentinel(i)}"', _int_sentinel(i))
        # Text pieces between the slots; a slot is an index into the drawn values
        # (then the uid and the record timestamp).
        parts = _LINE_SLOT.split(text)
        count = 3 + len(self.keys)
        position = {_UID: count, _TS: count + 1}
        pieces = [piece.encode().replace(b"%", b"%%") for piece in parts[0::2]]
        self.line_format = b"%s".join(pieces)
        self.value_format = "\x1f".join(["%s"] * (count + 2))
        # Always several slots (uid, ts, times, record number), so the getter
        # returns a tuple, as ``%`` wants.
        self.line_pick = itemgetter(
            *(position.get(int(i), int(i)) for i in parts[1::2])
        )


class ProcessRecipe(WindowsRecipe):
    """A Sysmon shape whose only changes are the time and its process's GUID and id
    (and, for connections, the client port; for file creations, their time).

    The commonest shapes of all (image loads, connections, registry writes, DNS
    queries, file creations of a running process), so they render in one f-string.
    """

    __slots__ = ("computer", "creation", "image", "port", "table_key")

    def __init__(self, *args: Any, computer: str, image: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.computer = computer
        self.image = image
        self.table_key = computer + "|" + image.lower()
        self.port = "SourcePort" in self.keys
        self.creation = "CreationUtcTime" in self.keys
        if self.order != tuple(range(3 + len(self.keys))):
            raise ValueError("a process recipe needs its values in Sysmon's order")

    def draw(self, ctx: SensorContext, ts: float) -> list[Any]:
        rng = ctx.rng
        cache = ctx.cache
        table = cache.get("sysmon.proc")
        if table is None:
            table = cache["sysmon.proc"] = {}
        known = table.get(self.table_key)
        if known is None:
            known = table[self.table_key] = running_process(
                self.computer, self.image, int(ts // 86_400)
            )
        counters = ctx.counters
        record = self.record_base + record_offset(ts)
        previous = counters.get(self.record_key, 0)
        if record <= previous:
            record = previous + 1
        counters[self.record_key] = record
        whole, millis = divmod(int(ts * 1000 + 0.5), 1000)
        second = SECONDS[whole]
        ms = MILLIS[millis]
        utc = f"{second[1]}.{ms}"
        created = f"{second[0]}.{ms}{MILLIS[rng.getrandbits(10) % 1000]}Z"
        thread_id = 4 * (64 + rng.getrandbits(12))
        if self.port:
            return [
                created,
                record,
                thread_id,
                utc,
                known[0],
                known[1],
                49152 + rng.getrandbits(14),
                "-",
            ]
        if self.creation:
            return [created, record, thread_id, utc, known[0], known[1], utc]
        return [created, record, thread_id, utc, known[0], known[1]]

    def __call__(self, uid: str, ts: float, ctx: SensorContext) -> Event:
        drawn = self.draw(ctx, ts)
        created, record, thread_id, utc, guid, pid = drawn[:6]
        fields = self.fields.copy()
        fields["TimeCreated"] = created
        fields["EventRecordID"] = record
        fields["Execution_ThreadID"] = thread_id
        fields["UtcTime"] = utc
        fields["ProcessGuid"] = guid
        fields["ProcessId"] = pid
        p = self.pieces
        if self.creation:
            fields["CreationUtcTime"] = utc
            raw = (
                f'{p[0]}"{created}"{p[1]}{record}{p[2]}{thread_id}{p[3]}"{utc}"'
                f'{p[4]}"{guid}"{p[5]}{pid}{p[6]}"{utc}"{p[7]}'
            )
        elif self.port:
            port = drawn[6]
            fields["SourcePort"] = port
            raw = (
                f'{p[0]}"{created}"{p[1]}{record}{p[2]}{thread_id}{p[3]}"{utc}"'
                f'{p[4]}"{guid}"{p[5]}{pid}{p[6]}{port}{p[7]}"-"{p[8]}'
            )
        else:
            raw = (
                f'{p[0]}"{created}"{p[1]}{record}{p[2]}{thread_id}{p[3]}"{utc}"'
                f'{p[4]}"{guid}"{p[5]}{pid}{p[6]}'
            )
        ls = self.logsource
        return Event(
            uid,
            ts,
            self.sensor_id,
            self.host,
            ls.product,
            ls.category,
            ls.service,
            fields,
            raw,
        )
