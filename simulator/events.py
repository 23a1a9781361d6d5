"""The event record every sensor produces and every consumer (SIEM, files) reads.

An :class:`Event` is one log record: its structured fields named exactly as Sigma
rules, Sysmon and Windows name them, its raw line in the sensor's native format, and
its Sigma logsource. Ground truth never lives on the event: it is a separate
:class:`Label` keyed by the event's ``uid``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(slots=True)
class Event:
    """One synthetic (or imported) log record."""

    uid: str
    ts: float  # POSIX seconds, UTC, simulated time (never the wall clock)
    sensor: str  # sensor id: sysmon, windows_security, proxy, ...
    host: str  # host name the record is about ('' when not host-bound)
    product: str | None
    category: str | None
    service: str | None
    fields: dict[str, Any]
    raw: str  # the native line (JSON for Windows channels, syslog, CEF, ...)

    def to_record(self) -> dict[str, Any]:
        """The NDJSON record written by ``socdrill generate`` and read by the SIEM."""
        return {
            "uid": self.uid,
            "ts": iso_ms(self.ts),
            "sensor": self.sensor,
            "host": self.host,
            "logsource": {
                "product": self.product,
                "category": self.category,
                "service": self.service,
            },
            "fields": self.fields,
            "raw": self.raw,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_record`; ``KeyError``/``ValueError`` if malformed."""
        logsource = record.get("logsource") or {}
        return cls(
            uid=str(record["uid"]),
            ts=parse_iso(record["ts"]),
            sensor=str(record["sensor"]),
            host=str(record.get("host") or ""),
            product=logsource.get("product"),
            category=logsource.get("category"),
            service=logsource.get("service"),
            fields=dict(record["fields"]),
            raw=str(record["raw"]),
        )


@dataclass(slots=True, frozen=True)
class Label:
    """Ground truth for one event: which scenario stage produced it."""

    uid: str
    scenario: str
    stage: str
    technique: str
    malicious: bool = True

    def to_record(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "scenario": self.scenario,
            "stage": self.stage,
            "technique": self.technique,
            "malicious": self.malicious,
        }


def iso_ms(ts: float) -> str:
    """``2026-03-01T08:00:00.123Z`` for POSIX seconds ``ts`` (millisecond precision)."""
    whole = int(ts // 1)
    millis = int(round((ts - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    t = _EPOCH + dt.timedelta(seconds=whole)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def parse_iso(text: str) -> float:
    """POSIX seconds from an ISO-8601 timestamp (``Z`` or offset; naive means UTC)."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def dumps(record: dict[str, Any]) -> bytes:
    """Compact, key-order-stable JSON bytes (one NDJSON line without newline)."""
    return orjson.dumps(record)
