"""Web server access log in the Apache/Nginx ``combined`` format.

``192.0.2.7 - - [02/Mar/2026:08:00:00 +0000] "GET /index.php?id=1 HTTP/1.1" 200 5120
"-" "Mozilla/5.0 …"``. Fields use the Sigma ``webserver`` names (``cs-method``,
``cs-uri-stem``, ``cs-uri-query``, ``sc-status``, ``cs-user-agent``, ``cs-referer`` …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import SECONDS
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host

WEBSERVER = Logsource(category="webserver")
FIELD_NAMES = frozenset(
    {
        "c-ip",
        "cs-username",
        "cs-method",
        "cs-uri-stem",
        "cs-uri-query",
        "cs-uri",
        "cs-version",
        "sc-status",
        "sc-bytes",
        "cs-referer",
        "cs-user-agent",
        "cs-host",
    }
)
DEFAULT_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def _clean(text: str) -> str:
    # Apache escapes quotes and backslashes (and control bytes) inside quoted fields.
    if '"' in text or "\\" in text or not text.isprintable():
        text = text.replace("\\", "\\\\").replace('"', '\\"')
        text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text


def _clean_all(*texts: str) -> tuple[str, ...]:
    """:func:`_clean` of each text, with one check when none needs escaping."""
    joined = "".join(texts)
    if '"' in joined or "\\" in joined or not joined.isprintable():
        return tuple(_clean(text) for text in texts)
    return texts


class WebserverSensor(Sensor):
    """Requests served by a web host (the org's first web server unless given)."""

    id = "webserver"
    kinds: ClassVar[dict[str, Logsource]] = {"access": WEBSERVER}
    default_kind = "access"
    fields: ClassVar[dict[str, frozenset[str]]] = {"access": FIELD_NAMES}
    raw_format = "combined"

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
        if kind not in ("access", "default"):
            raise ValueError(f"webserver has no kind {kind!r}; kinds: access")
        if host is None:
            host = ctx.org.memo("web_host", lambda: _first_web_host(ctx))
        g = values.get
        rng = ctx.rng
        method = str(g("cs-method") or "GET").upper()
        path, _, rest = str(g("cs-uri") or "").partition("?")
        stem = str(g("cs-uri-stem") or path or "/")
        query = str(g("cs-uri-query") or rest)
        uri = f"{stem}?{query}" if query else stem
        status = int(g("sc-status") or 200)
        given_size = g("sc-bytes")
        size = int(
            given_size
            if given_size is not None
            else (500 + rng.getrandbits(14) if status < 300 else 196)
        )
        client = str(g("c-ip") or ctx.org.egress_ip)
        user = str(g("cs-username") or "-")
        referer = str(g("cs-referer") or "-")
        agent = str(g("cs-user-agent") or DEFAULT_AGENT)
        version = str(g("cs-version") or "HTTP/1.1")
        fields: dict[str, Any] = {
            "c-ip": client,
            "cs-username": user,
            "cs-method": method,
            "cs-uri-stem": stem,
            "cs-uri-query": query,
            "cs-uri": uri,
            "cs-version": version,
            "sc-status": status,
            "sc-bytes": size,
            "cs-referer": referer,
            "cs-user-agent": agent,
            "cs-host": str(g("cs-host") or host.fqdn),
        }
        if not values.keys() <= FIELD_NAMES:  # fields the sensor does not know: kept
            for k, v in values.items():
                if k not in fields:
                    fields[k] = v
        quoted_uri, quoted_referer, quoted_agent = _clean_all(uri, referer, agent)
        # The whole second, rounded as ``simulator.fill.split_ms`` rounds it.
        whole = int(ts // 1)
        if round((ts - whole) * 1000) == 1000:
            whole += 1
        raw = (
            f'{client} - {user} [{SECONDS[whole][3]}] "{method} {quoted_uri} '
            f'{version}" {status} {size if size else "-"} "{quoted_referer}" '
            f'"{quoted_agent}"'
        )
        return Event(
            uid, ts, self.id, host.name, None, WEBSERVER.category, None, fields, raw
        )


def _first_web_host(ctx: SensorContext) -> Host:
    hosts = ctx.org.hosts_where(role="web")
    if not hosts:
        raise ValueError("the organisation has no web server; give a host")
    return hosts[0]
