"""The contract every sensor module implements.

A sensor turns a partial set of fields (from a scenario stage or the noise model) into a
complete :class:`~simulator.events.Event`: it fills what the real sensor would fill
(process GUIDs, hashes, logon ids, record numbers …), tags the Sigma logsource and
renders the raw line in the sensor's native format. Adding a sensor is one module that
defines a subclass and registers it in ``simulator/sensors/__init__.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from simulator.environment import Host, Organisation
    from simulator.events import Event


@dataclass(frozen=True, slots=True)
class Logsource:
    """A Sigma logsource: what rules select on (product, category, service)."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


@dataclass(slots=True)
class SensorContext:
    """Per-stream state a sensor may use: the organisation, a seeded RNG, counters.

    One context per generated stream keeps output deterministic: the same seed gives the
    same GUIDs, record numbers and filler values.
    """

    org: Organisation
    rng: random.Random
    counters: dict[str, int] = field(default_factory=dict)
    #: other per-stream memory a sensor keeps (e.g. which process GUID an image on a
    #: host was given, so later events of the same process reuse it)
    cache: dict[str, Any] = field(default_factory=dict)

    def next_record(self, key: str) -> int:
        """Monotonic record number per (host, channel) key, as Windows keeps them."""
        n = self.counters.get(key, 0) + 1
        self.counters[key] = n
        return n


class Sensor:
    """Base class: subclasses set the class attributes and implement :meth:`event`."""

    id: ClassVar[str]
    #: kind name -> Sigma logsource. Sensors with a single kind use "default".
    kinds: ClassVar[dict[str, Logsource]]
    default_kind: ClassVar[str] = "default"
    #: kind -> field names a scenario may set (for validation and "did you mean").
    fields: ClassVar[dict[str, frozenset[str]]]
    #: the native raw format, for docs and parser tests: json, rfc5424, rfc3164, cef,
    #: squid, combined, bind, cloudtrail-json …
    raw_format: ClassVar[str]

    def field_names(self, kind: str) -> frozenset[str]:
        return self.fields.get(kind, frozenset())

    def event(
        self,
        *,
        uid: str,
        ts: float,
        kind: str,
        host: Host | None,
        values: dict[str, Any],
        ctx: SensorContext,
    ) -> Event:
        """Complete ``values`` as the real sensor would and return the event."""
        raise NotImplementedError
