"""Web proxy access log in squid's native format, with the User-Agent appended.

``1772438400.123    187 10.10.16.12 TCP_MISS/200 48211 GET http://host/path jdoe
HIER_DIRECT/192.0.2.40 text/html "Mozilla/5.0 …"`` — squid's ``squid`` logformat plus
the quoted ``%{User-Agent}>h`` many deployments add so that agents can be hunted.
Fields use the Sigma ``proxy`` taxonomy names (``c-uri``, ``cs-host``, ``c-useragent``,
``cs-method``, ``sc-status`` …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import MILLIS
from simulator.sensors._network import appliance
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host

PROXY = Logsource(category="proxy")
FIELD_NAMES = frozenset(
    {
        "c-ip",
        "cs-username",
        "cs-method",
        "c-uri",
        "cs-host",
        "c-uri-stem",
        "c-uri-query",
        "c-uri-extension",
        "cs-version",
        "sc-status",
        "sc-bytes",
        "c-useragent",
        "cs-referrer",
        "r-dns",
        "dst_ip",
        "x-squid-result",
        "x-hierarchy",
        "x-elapsed-ms",
        "content-type",
    }
)
DEFAULT_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0"
)
_TYPES = {
    "js": "application/javascript",
    "json": "application/json",
    "css": "text/css",
    "png": "image/png",
    "jpg": "image/jpeg",
    "html": "text/html",
    "exe": "application/octet-stream",
    "zip": "application/zip",
    "txt": "text/plain",
    "msi": "application/x-msi",
    "cab": "application/vnd.ms-cab-compressed",
}


def split_url(url: str) -> tuple[str, str, str, str]:
    """(host, path, query, extension) of an absolute URL or a CONNECT target."""
    if "://" in url:
        authority, slash, path = url.split("://", 1)[1].partition("/")
        path = "/" + path if slash else "/"
    else:  # CONNECT host:port
        authority, path = url, ""
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0]
    path, _, query = path.partition("?")
    name = path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return host, path, query, extension


class ProxySensor(Sensor):
    """Requests through the forward proxy (proxy01 unless a host is given)."""

    id = "proxy"
    kinds: ClassVar[dict[str, Logsource]] = {"access": PROXY}
    default_kind = "access"
    fields: ClassVar[dict[str, frozenset[str]]] = {"access": FIELD_NAMES}
    raw_format = "squid"

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
            raise ValueError(f"proxy has no kind {kind!r}; kinds: access")
        device = appliance(ctx, host, "proxy")
        g = values.get
        rng = ctx.rng
        method = str(g("cs-method") or "GET").upper()
        url = g("c-uri")
        given_host = g("cs-host")
        if not url and given_host:  # a host alone: the request to its front page
            host_only = str(given_host)
            url = f"{host_only}:443" if method == "CONNECT" else f"http://{host_only}/"
        if not url:
            site = rng.choice(ctx.org.external_sites)
            url = (
                f"https://{site.domain}/"
                if method != "CONNECT"
                else f"{site.domain}:443"
            )
        url = str(url)
        if "://" in url or "@" in url:
            host_name, stem, query, extension = split_url(url)
        else:  # CONNECT host:port, the usual tunnel: what split_url returns for it
            host_name, stem, query, extension = url.split(":", 1)[0], "", "", ""
        host_name = str(given_host or host_name)
        status = int(g("sc-status") or 200)
        given_size = g("sc-bytes")
        size = int(given_size if given_size is not None else 300 + rng.getrandbits(14))
        user = str(g("cs-username") or "-")
        client = str(g("c-ip") or ctx.org.hosts[0].ip)
        agent = str(g("c-useragent") or DEFAULT_AGENT)
        server_ip = str(g("dst_ip") or _resolve(ctx, host_name))
        denied = status in (403, 407)
        result = str(
            g("x-squid-result")
            or (
                "TCP_DENIED"
                if denied
                else "TCP_TUNNEL"
                if method == "CONNECT"
                else "TCP_MISS"
            )
        )
        hierarchy = "HIER_NONE/-" if denied else f"HIER_DIRECT/{server_ip}"
        elapsed = int(g("x-elapsed-ms") or (0 if denied else 20 + rng.getrandbits(9)))
        mime = str(
            g("content-type")
            or ("-" if method == "CONNECT" else _TYPES.get(extension, "text/html"))
        )
        fields: dict[str, Any] = {
            "c-ip": client,
            "cs-username": user,
            "cs-method": method,
            "c-uri": url,
            "cs-host": host_name,
            "c-uri-stem": stem,
            "c-uri-query": query,
            "c-uri-extension": extension,
            "cs-version": "HTTP/1.1",
            "sc-status": status,
            "sc-bytes": size,
            "c-useragent": agent,
            "cs-referrer": str(g("cs-referrer") or "-"),
            "r-dns": host_name,
            "dst_ip": server_ip,
            "x-squid-result": result,
            "x-hierarchy": hierarchy,
            "x-elapsed-ms": elapsed,
            "content-type": mime,
        }
        if not values.keys() <= FIELD_NAMES:  # fields the sensor does not know: kept
            for k, v in values.items():
                if k not in fields:
                    fields[k] = v
        quoted_agent = agent.replace('"', "%22") if '"' in agent else agent
        # Epoch seconds and milliseconds, split as ``simulator.fill.split_ms`` does.
        whole = int(ts // 1)
        millis = round((ts - whole) * 1000)
        if millis == 1000:
            whole, millis = whole + 1, 0
        raw = (
            f"{whole}.{MILLIS[millis]} {elapsed:6d} {client} {result}/{status:03d} "
            f'{size} {method} {url} {user} {hierarchy} {mime} "{quoted_agent}"'
        )
        return Event(
            uid, ts, self.id, device.name, None, PROXY.category, None, fields, raw
        )


def _resolve(ctx: SensorContext, name: str) -> str:
    sites = ctx.org.memo(
        "sites_by_domain", lambda: {s.domain: s.ip for s in ctx.org.external_sites}
    )
    ip = sites.get(name)
    if ip is None:
        ip = f"198.51.100.{2 + (sum(map(ord, name)) % 250)}"
    return ip
