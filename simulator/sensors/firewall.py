"""Perimeter firewall traffic log: CEF over syslog, or netfilter/UFW kernel lines.

Fields use the names of the Sigma ``firewall`` taxonomy (``src_ip``, ``src_port``,
``dst_ip``, ``dst_port``, ``action``, ``blocked`` …). The ``traffic`` kind renders
``<PRI>Mmm dd hh:mm:ss fw01 CEF:0|…``; the ``netfilter`` kind renders the kernel's
``[UFW BLOCK] IN=… SRC=… DST=…`` line.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from simulator.events import Event
from simulator.fill import SECONDS, epoch_ms
from simulator.sensors import syslog
from simulator.sensors._network import appliance
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host

FIREWALL = Logsource(category="firewall")
_ALLOWED_HEAD = "CEF:0|ExampleNet|EdgeFW|7.2|100|Traffic allowed|3|"
_DENIED_HEAD = "CEF:0|ExampleNet|EdgeFW|7.2|101|Traffic denied|5|"
_ALLOW = frozenset({"accept", "allow", "forward", "pass"})
_PROTO_NUMBERS = {"TCP": 6, "UDP": 17, "ICMP": 1}
FIELD_NAMES = frozenset(
    {
        "src_ip",
        "src_port",
        "dst_ip",
        "dst_port",
        "protocol",
        "action",
        "blocked",
        "bytes_in",
        "bytes_out",
        "direction",
        "rule",
        "in_interface",
        "out_interface",
        "src_host",
        "dst_host",
        "user",
        "message",
    }
)
# Values of these keys are all in a traffic record's fields already.
_TRAFFIC_KEYS = FIELD_NAMES - {"src_host", "dst_host", "user", "message"}


class FirewallSensor(Sensor):
    """Connection records from the perimeter firewall (fw01 unless a host is given)."""

    id = "firewall"
    kinds: ClassVar[dict[str, Logsource]] = {
        "traffic": FIREWALL,
        "netfilter": FIREWALL,
        "config": FIREWALL,
    }
    default_kind = "traffic"
    fields: ClassVar[dict[str, frozenset[str]]] = {
        "traffic": FIELD_NAMES,
        "netfilter": FIELD_NAMES,
        "config": FIELD_NAMES,
    }
    raw_format = "cef"

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
        if kind == "default":
            kind = self.default_kind
        if kind not in self.kinds:
            raise ValueError(
                f"firewall has no kind {kind!r}; kinds: traffic, netfilter"
            )
        device = appliance(ctx, host, "firewall")
        if kind == "config":
            return self._config(uid, ts, device, values)
        g = values.get
        rng = ctx.rng
        action = str(g("action") or "accept").lower()
        allowed = action in _ALLOW
        protocol = str(g("protocol") or "tcp").lower()
        hosts = ctx.org.hosts
        src_ip = str(g("src_ip") or hosts[rng.getrandbits(16) % len(hosts)].ip)
        dst_ip = str(g("dst_ip") or rng.choice(ctx.org.external_sites).ip)
        inbound = not _internal(src_ip)
        direction = str(g("direction") or ("inbound" if inbound else "outbound"))
        dst_port = int(g("dst_port") or 443)
        # ``fill.ephemeral_port``, inline on the per-line path
        src_port = int(g("src_port") or 49152 + rng.getrandbits(14))
        given_out = g("bytes_out")
        bytes_out = int(
            given_out
            if given_out is not None
            else (60 if not allowed else 400 + rng.getrandbits(12))
        )
        given_in = g("bytes_in")
        bytes_in = int(
            given_in
            if given_in is not None
            else (0 if not allowed else 200 + rng.getrandbits(16))
        )
        rule = str(
            g("rule")
            or (
                "outbound-web"
                if allowed and not inbound
                else "inbound-default-deny"
                if not allowed
                else "inbound-published"
            )
        )
        in_if, out_if = ("wan1", "internal") if inbound else ("internal", "wan1")
        in_if = g("in_interface") or in_if
        out_if = g("out_interface") or out_if
        fields: dict[str, Any] = {
            "src_ip": src_ip,
            "src_port": src_port,
            "dst_ip": dst_ip,
            "dst_port": dst_port,
            "protocol": protocol,
            "action": action,
            "blocked": "false" if allowed else "true",
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
            "direction": direction,
            "rule": rule,
            "in_interface": in_if,
            "out_interface": out_if,
        }
        if not values.keys() <= _TRAFFIC_KEYS:  # fields the sensor does not know
            for k, v in values.items():
                if k not in fields:
                    fields[k] = v
        proto = protocol.upper()
        if kind == "traffic":
            # One f-string: ports and numbers never need CEF escaping; the text
            # values are escaped together.
            src, dst, proto_text, act, in_text, out_text, policy, dvc = (
                syslog.cef_values(
                    src_ip,
                    dst_ip,
                    proto,
                    action,
                    str(in_if),
                    str(out_if),
                    rule,
                    device.name,
                )
            )
            head = _ALLOWED_HEAD if allowed else _DENIED_HEAD
            # Seconds and milliseconds split as ``simulator.fill.split_ms`` does.
            whole = int(ts // 1)
            millis = round((ts - whole) * 1000)
            if millis == 1000:
                whole, millis = whole + 1, 0
            user = g("user")
            suser = f" suser={syslog.cef_value_escape(str(user))}" if user else ""
            raw = (
                f"<{syslog.LOCAL0_INFO}>{SECONDS[whole][2]} {device.name} "
                f"{head}rt={whole * 1000 + millis} src={src} spt={src_port} "
                f"dst={dst} dpt={dst_port} proto={proto_text} "
                f"act={act} deviceDirection={0 if inbound else 1} "
                f"in={bytes_in} out={bytes_out} "
                f"deviceInboundInterface={in_text} "
                f"deviceOutboundInterface={out_text} "
                f"cs1Label=policy cs1={policy} dvchost={dvc}{suser}"
            )
        else:
            tag = "UFW ALLOW" if allowed else "UFW BLOCK"
            ports = f" SPT={src_port} DPT={dst_port}" if proto in ("TCP", "UDP") else ""
            flags = " WINDOW=64240 RES=0x00 SYN URGP=0" if proto == "TCP" else ""
            message = (
                f"[{tag}] IN={fields['in_interface']} OUT="
                f"{fields['out_interface'] if allowed else ''} SRC={src_ip} "
                f"DST={dst_ip} LEN={max(40, bytes_out)} TOS=0x00 PREC=0x00 "
                f"TTL={48 + rng.getrandbits(4)} ID={rng.getrandbits(16)} DF "
                f"PROTO={proto}{ports}{flags}"
            )
            fields["message"] = message
            raw = syslog.rfc3164(
                syslog.KERN_WARNING, ts, device.name, "kernel", None, message
            )
        return Event(
            uid, ts, self.id, device.name, None, FIREWALL.category, None, fields, raw
        )

    def _config(
        self, uid: str, ts: float, device: Host, values: dict[str, Any]
    ) -> Event:
        """A policy change on the firewall (a rule added or removed by someone)."""
        g = values.get
        rule = str(g("rule") or "soc-block")
        user = str(g("user") or "admin")
        message = str(g("message") or f"{user} changed rule {rule}")
        target = g("dst_ip") or g("dst_host") or ""
        fields: dict[str, Any] = {
            "action": "config",
            "rule": rule,
            "user": user,
            "message": message,
        }
        for k, v in values.items():
            if k not in fields:
                fields[k] = v
        ext: list[tuple[str, object]] = [
            ("rt", epoch_ms(ts)),
            ("act", "config"),
            ("suser", user),
            ("cs1Label", "policy"),
            ("cs1", rule),
            ("msg", message),
        ]
        if g("dst_ip"):
            ext.append(("dst", target))
        elif target:
            ext.append(("dhost", target))
        ext.append(("dvchost", device.name))
        body = syslog.cef(
            "ExampleNet", "EdgeFW", "7.2", "200", "Policy changed", 3, ext
        )
        raw = syslog.rfc3164_untagged(syslog.LOCAL4_NOTICE, ts, device.name, body)
        return Event(
            uid, ts, self.id, device.name, None, FIREWALL.category, None, fields, raw
        )


# Documentation ranges count as "private" to ``ipaddress``; here they are the
# internet, so the organisation's own ranges are listed explicitly.
_INTERNAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
    )
)


@lru_cache(maxsize=8192)
def _internal(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in _INTERNAL_NETS)
