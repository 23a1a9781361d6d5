"""DNS resolver query log in BIND's ``querylog`` format.

``02-Mar-2026 08:00:00.123 client @0x7f3a2c0d1e80 10.10.16.12#53122
(www.example.com): query: www.example.com IN A +E(0)K (10.10.0.3)``. Fields use the
Sigma ``dns`` names (``query``, ``record_type``, ``src_ip`` …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import MILLIS, SECONDS
from simulator.sensors._network import appliance
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host

DNS = Logsource(category="dns")
FIELD_NAMES = frozenset(
    {"query", "record_type", "src_ip", "src_port", "dst_ip", "qclass", "flags"}
)


class DnsSensor(Sensor):
    """Queries seen by the internal resolver (ns01 unless a host is given)."""

    id = "dns"
    kinds: ClassVar[dict[str, Logsource]] = {"query": DNS}
    default_kind = "query"
    fields: ClassVar[dict[str, frozenset[str]]] = {"query": FIELD_NAMES}
    raw_format = "bind-querylog"

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
        if kind not in ("query", "default"):
            raise ValueError(f"dns has no kind {kind!r}; kinds: query")
        server = appliance(ctx, host, "dns")
        g = values.get
        rng = ctx.rng
        query = str(g("query") or rng.choice(ctx.org.external_sites).domain).rstrip(".")
        record_type = str(g("record_type") or "A").upper()
        src_ip = str(g("src_ip") or ctx.org.hosts[0].ip)
        # ``fill.ephemeral_port``, inline on the per-line path
        src_port = int(g("src_port") or 49152 + rng.getrandbits(14))
        flags = str(g("flags") or "+E(0)K")
        server_ip = server.ip
        fields: dict[str, Any] = {
            "query": query,
            "record_type": record_type,
            "src_ip": src_ip,
            "src_port": src_port,
            "dst_ip": server_ip,
            "qclass": "IN",
            "flags": flags,
        }
        if not values.keys() <= FIELD_NAMES:  # fields the sensor does not know: kept
            for k, v in values.items():
                if k not in fields:
                    fields[k] = v
        # Seconds and milliseconds split as ``simulator.fill.split_ms`` does.
        whole = int(ts // 1)
        millis = round((ts - whole) * 1000)
        if millis == 1000:
            whole, millis = whole + 1, 0
        raw = (
            f"{SECONDS[whole][4]}.{MILLIS[millis]} client "
            f"@0x7f{rng.getrandbits(40):010x} {src_ip}#{src_port} ({query}): "
            f"query: {query} IN {record_type} {flags} ({server_ip})"
        )
        return Event(
            uid, ts, self.id, server.name, None, DNS.category, None, fields, raw
        )
