"""Secure e-mail gateway message log: one JSON record per message and recipient.

The shape common to Defender for Office (EmailEvents), Proofpoint and Mimecast
message logs: sender and recipient, subject, authentication results (SPF, DKIM,
DMARC), verdict, delivery action, attachments and URLs. Logsource:
``category: email`` (SigmaHQ has no e-mail gateway logsource; the pack uses this one).
``attachment`` is the first attachment's file name, for simple rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from simulator.events import Event
from simulator.fill import hex_id, iso_ms, sha256_of
from simulator.sensors._network import appliance
from simulator.sensors.base import Logsource, Sensor, SensorContext

if TYPE_CHECKING:
    from simulator.environment import Host

EMAIL = Logsource(category="email")
FIELD_NAMES = frozenset(
    {
        "timestamp",
        "message_id",
        "direction",
        "sender",
        "sender_domain",
        "sender_ip",
        "recipient",
        "subject",
        "spf",
        "dkim",
        "dmarc",
        "verdict",
        "action",
        "delivery_location",
        "attachment",
        "attachments",
        "urls",
        "url_domains",
        "size",
        "policy",
    }
)
_LOCATIONS = {
    "delivered": "Inbox",
    "junked": "Junk folder",
    "blocked": "Dropped",
    "quarantined": "Quarantine",
    "replaced": "Inbox",
}


class EmailGatewaySensor(Sensor):
    """Messages through the organisation's mail gateway (mx01 unless given)."""

    id = "email_gateway"
    kinds: ClassVar[dict[str, Logsource]] = {"message": EMAIL}
    default_kind = "message"
    fields: ClassVar[dict[str, frozenset[str]]] = {"message": FIELD_NAMES}
    raw_format = "json"

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
        if kind not in ("message", "default"):
            raise ValueError(f"email_gateway has no kind {kind!r}; kinds: message")
        gateway = appliance(ctx, host, "mail")
        org = ctx.org
        g = values.get
        rng = ctx.rng
        sender = str(g("sender") or f"newsletter@{org.external_sites[-1].domain}")
        recipient = str(g("recipient") or org.users[0].email)
        sender_domain = sender.rsplit("@", 1)[-1].lower()
        internal_sender = sender_domain == org.email_domain
        internal_recipient = recipient.rsplit("@", 1)[-1].lower() == org.email_domain
        direction = str(
            g("direction")
            or (
                "intra-org"
                if internal_sender and internal_recipient
                else "outbound"
                if internal_sender
                else "inbound"
            )
        )
        attachments = g("attachments")
        if attachments is None:
            attachments = []
            if g("attachment"):
                name = str(g("attachment"))
                attachments.append(
                    {
                        "filename": name,
                        "type": name.rsplit(".", 1)[-1].lower(),
                        "sha256": sha256_of(name),
                        "verdict": "unknown",
                    }
                )
        urls = g("urls") or []
        url_domains = sorted({u.split("://", 1)[-1].split("/", 1)[0] for u in urls})
        action = str(g("action") or "delivered").lower()
        stamp = iso_ms(ts)
        record: dict[str, Any] = {
            "timestamp": stamp,
            "message_id": g("message_id")
            or f"<{stamp[:10].replace('-', '')}"
            f"{hex_id(rng, 12).upper()}@{sender_domain}>",
            "direction": direction,
            "sender": sender,
            "sender_domain": sender_domain,
            "sender_ip": str(
                g("sender_ip")
                or (
                    org.host(org.hosts_where(role="mail")[0].name).ip
                    if internal_sender and org.hosts_where(role="mail")
                    else _sender_ip(ctx, sender_domain)
                )
            ),
            "recipient": recipient,
            "subject": str(g("subject") or "Weekly update"),
            "spf": g("spf") or "pass",
            "dkim": g("dkim") or "pass",
            "dmarc": g("dmarc") or "pass",
            "verdict": g("verdict") or "clean",
            "action": action,
            "delivery_location": g("delivery_location") or _LOCATIONS.get(action, "-"),
            "attachment": attachments[0]["filename"] if attachments else "",
            "attachments": attachments,
            "urls": urls,
            "url_domains": url_domains,
            "size": int(g("size") or 4000 + rng.getrandbits(16)),
            "policy": g("policy") or "Default inbound policy",
        }
        for k, v in values.items():
            if k not in record:
                record[k] = v
        raw = orjson.dumps(record).decode()
        return Event(
            uid, ts, self.id, gateway.name, None, EMAIL.category, None, record, raw
        )


def _sender_ip(ctx: SensorContext, domain: str) -> str:
    sites = ctx.org.memo(
        "sites_by_domain", lambda: {s.domain: s.ip for s in ctx.org.external_sites}
    )
    return sites.get(domain) or f"203.0.113.{2 + sum(map(ord, domain)) % 250}"
