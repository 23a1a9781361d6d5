"""Forward sandbox events to a team's real SIEM, always marked as exercise traffic.

Three outputs: syslog (RFC 5424) over UDP (RFC 5426) or TCP with octet-counting
framing (RFC 6587), with the native raw line or a CEF payload as the message; and NDJSON
files. Every event that leaves carries the exercise marker: a structured-data element
``[exercise@32473 id=".." name=".." marker="EXERCISE"]`` (32473 is the enterprise
number reserved for documentation, RFC 5612), ``cs1Label=exercise`` in CEF, and an
``"exercise"`` object in NDJSON. Network destinations are never implied: the caller
names the host and lists the hosts it allows, and nothing else is contacted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import orjson

from simulator.events import Event, iso_ms

DEFAULT_SYSLOG_PORT = 514
DOCUMENTATION_ENTERPRISE = 32473
MARKER_TEXT = "EXERCISE"
MAX_UDP_PAYLOAD = 65_000  # below the 65,507-byte IPv4 limit, with room for headers

Payload = Literal["raw", "cef"]
Transport = Literal["udp", "tcp"]


class ForwardingError(Exception):
    """A destination, marker or send failed; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ExerciseMarker:
    """What identifies forwarded data as exercise traffic in the receiving SIEM."""

    id: str
    name: str = ""
    marker: str = MARKER_TEXT

    def __post_init__(self) -> None:
        for label, value in (("exercise id", self.id), ("marker", self.marker)):
            if not value or not value.strip():
                raise ForwardingError(f"{label} must not be empty")
        for label, value in (
            ("exercise id", self.id),
            ("exercise name", self.name),
            ("marker", self.marker),
        ):
            if len(value) > 128:
                raise ForwardingError(f"{label} is longer than 128 characters")
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                raise ForwardingError(f"{label} contains control characters")

    def as_dict(self) -> dict[str, str]:
        """The marker as the ``exercise`` object of an NDJSON record."""
        return {"id": self.id, "name": self.name, "marker": self.marker}


@dataclass(frozen=True, slots=True)
class SyslogDestination:
    """An explicit syslog receiver: transport, host and port."""

    transport: Transport
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> SyslogDestination:
        """``udp://host:port`` or ``tcp://host:port`` (port defaults to 514).

        IPv6 hosts go in brackets: ``udp://[::1]:5514``.
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise ForwardingError(f"invalid syslog URL {url!r}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("udp", "tcp"):
            raise ForwardingError(
                f"invalid syslog URL {url!r}: the scheme must be udp:// or tcp://"
            )
        if not parts.hostname:
            raise ForwardingError(f"invalid syslog URL {url!r}: no host given")
        if parts.username or parts.password:
            raise ForwardingError(
                f"invalid syslog URL {url!r}: credentials not allowed"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ForwardingError(
                f"invalid syslog URL {url!r}: only scheme, host and port are allowed"
            )
        if port == 0:
            raise ForwardingError(f"invalid syslog URL {url!r}: port 0")
        transport: Transport = "udp" if scheme == "udp" else "tcp"
        return cls(transport, parts.hostname, port or DEFAULT_SYSLOG_PORT)

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


def normalise_host(host: str) -> str:
    """Compare hosts the way an allow-list means them: case-free, canonical IPs."""
    text = host.strip().strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def check_allowed(host: str, allowed_hosts: Iterable[str]) -> None:
    """Raise unless ``host`` is on the caller's allow-list."""
    allowed = {normalise_host(h) for h in allowed_hosts if h.strip()}
    if normalise_host(host) not in allowed:
        shown = ", ".join(sorted(allowed)) or "nothing"
        raise ForwardingError(
            f"destination host {host!r} is not allow-listed (allowed: {shown})"
        )


# --- RFC 5424 -----------------------------------------------------------------------


def _printable_ascii(text: str, limit: int) -> str:
    """A header field as RFC 5424 wants it: PRINTUSASCII, bounded, '-' when empty."""
    kept = "".join(ch for ch in text if 33 <= ord(ch) <= 126)[:limit]
    return kept or "-"


def _sd_value(value: str) -> str:
    """Escape a PARAM-VALUE: backslash, double quote and closing bracket."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _sd_element(sd_id: str, params: Iterable[tuple[str, str | None]]) -> str:
    rendered = "".join(
        f' {name}="{_sd_value(value)}"' for name, value in params if value
    )
    return f"[{sd_id}{rendered}]"


def structured_data(event: Event, marker: ExerciseMarker) -> str:
    """The exercise marker element followed by an element describing the event."""
    ent = DOCUMENTATION_ENTERPRISE
    exercise = _sd_element(
        f"exercise@{ent}",
        (("id", marker.id), ("name", marker.name), ("marker", marker.marker)),
    )
    origin = _sd_element(
        f"event@{ent}",
        (
            ("uid", event.uid),
            ("sensor", event.sensor),
            ("product", event.product),
            ("category", event.category),
            ("service", event.service),
        ),
    )
    return exercise + origin


def format_syslog(
    event: Event,
    marker: ExerciseMarker,
    *,
    payload: Payload = "raw",
    facility: int = 16,
    severity: int = 6,
    tag_message: bool = True,
) -> bytes:
    """One RFC 5424 message: header, structured data with the marker, then the payload.

    ``payload="raw"`` sends the native line, prefixed ``[EXERCISE] `` unless
    ``tag_message`` is false (a receiver that drops structured data still shows the
    prefix); ``payload="cef"`` sends a CEF record, which carries the marker itself.
    """
    if not 0 <= facility <= 23 or not 0 <= severity <= 7:
        raise ForwardingError("syslog facility must be 0-23 and severity 0-7")
    header = " ".join(
        (
            f"<{facility * 8 + severity}>1",
            iso_ms(event.ts),
            _printable_ascii(event.host, 255),
            _printable_ascii(event.sensor, 48),
            "-",
            _printable_ascii(event.category or "", 32),
        )
    )
    if payload == "cef":
        message = format_cef(event, marker)
    elif tag_message:
        message = f"[{marker.marker}] {event.raw}"
    else:
        message = event.raw
    return f"{header} {structured_data(event, marker)} {message}".encode()


# --- CEF ----------------------------------------------------------------------------

# Stored field name -> CEF extension key, for the fields a receiving SIEM indexes first.
CEF_FIELDS: dict[str, str] = {
    "SourceIp": "src",
    "src_ip": "src",
    "IpAddress": "src",
    "DestinationIp": "dst",
    "dst_ip": "dst",
    "SourcePort": "spt",
    "src_port": "spt",
    "DestinationPort": "dpt",
    "dst_port": "dpt",
    "DestinationHostname": "dhost",
    "User": "suser",
    "SubjectUserName": "suser",
    "TargetUserName": "duser",
    "Image": "sproc",
    "CommandLine": "cs4",
    "TargetFilename": "filePath",
    "c-uri": "request",
    "cs-method": "requestMethod",
    "c-useragent": "requestClientApplication",
    "QueryName": "destinationDnsDomain",
    "action": "act",
}
_CEF_LABELS = {"cs4": "commandLine"}


def _cef_header(value: str) -> str:
    flat = value.replace("\r", " ").replace("\n", " ")
    return flat.replace("\\", "\\\\").replace("|", "\\|")


def _cef_value(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return (
        text.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def format_cef(event: Event, marker: ExerciseMarker, *, severity: int = 3) -> str:
    """A CEF:0 record for ``event`` with the exercise in ``cs1``/``cs2``/``cs3``."""
    signature = event.fields.get("EventID", event.category or event.sensor)
    name = " ".join(x for x in (event.product, event.category, event.service) if x)
    header = "|".join(
        [
            "CEF:0",
            "socdrill",
            _cef_header(event.sensor),
            "1",
            _cef_header(str(signature)),
            _cef_header(name or event.sensor),
            str(max(0, min(10, severity))),
        ]
    )
    ext: dict[str, Any] = {
        "rt": int(round(event.ts * 1000)),
        "externalId": event.uid,
        "dvchost": event.host or None,
        "cs1Label": "exercise",
        "cs1": marker.id,
    }
    if marker.name:
        ext.update(cs2Label="exerciseName", cs2=marker.name)
    ext.update(cs3Label="exerciseMarker", cs3=marker.marker)
    for field_name, key in CEF_FIELDS.items():
        value = event.fields.get(field_name)
        if value not in (None, "") and key not in ext:
            ext[key] = value
            if key in _CEF_LABELS:
                ext[f"{key}Label"] = _CEF_LABELS[key]
    ext["msg"] = event.raw
    rendered = " ".join(
        f"{key}={_cef_value(value)}" for key, value in ext.items() if value is not None
    )
    return f"{header}|{rendered}"


# --- senders ------------------------------------------------------------------------


class SyslogForwarder:
    """Sends events to one allow-listed syslog receiver over UDP or TCP.

    Use as a context manager; :meth:`send` returns how many events were sent.
    """

    def __init__(
        self,
        destination: SyslogDestination | str,
        *,
        allowed_hosts: Iterable[str],
        marker: ExerciseMarker,
        payload: Payload = "raw",
        tag_message: bool = True,
        timeout: float = 5.0,
    ) -> None:
        if isinstance(destination, str):
            destination = SyslogDestination.parse(destination)
        check_allowed(destination.host, allowed_hosts)
        if payload not in ("raw", "cef"):
            raise ForwardingError(f"unknown payload {payload!r}: use 'raw' or 'cef'")
        self.destination = destination
        self.marker = marker
        self.payload: Payload = payload
        self.tag_message = tag_message
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._address: Any = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        dest = self.destination
        kind = socket.SOCK_DGRAM if dest.transport == "udp" else socket.SOCK_STREAM
        try:
            family, _, _, _, address = socket.getaddrinfo(
                dest.host, dest.port, 0, kind
            )[0]
        except OSError as exc:
            raise ForwardingError(f"cannot resolve {dest.url()}: {exc}") from exc
        sock = socket.socket(family, kind)
        try:
            sock.settimeout(self.timeout)
            if dest.transport == "tcp":
                sock.connect(address)
        except OSError as exc:
            sock.close()
            raise ForwardingError(f"cannot reach {dest.url()}: {exc}") from exc
        self._sock, self._address = sock, address
        return sock

    def _messages(self, events: Iterable[Event]) -> Iterator[bytes]:
        for event in events:
            yield format_syslog(
                event, self.marker, payload=self.payload, tag_message=self.tag_message
            )

    def send(self, events: Iterable[Event]) -> int:
        """Send every event; raise :class:`ForwardingError` on a network failure."""
        sock = self._connect()
        sent = 0
        try:
            if self.destination.transport == "udp":
                for message in self._messages(events):
                    sock.sendto(_truncate(message, MAX_UDP_PAYLOAD), self._address)
                    sent += 1
            else:
                buffer = bytearray()
                for message in self._messages(events):
                    # RFC 6587 octet counting: the length, a space, the message.
                    buffer += b"%d %b" % (len(message), message)
                    sent += 1
                    if len(buffer) >= 65_536:
                        sock.sendall(buffer)
                        buffer.clear()
                if buffer:
                    sock.sendall(buffer)
        except OSError as exc:
            self.close()
            raise ForwardingError(
                f"sending to {self.destination.url()} failed after {sent} events: {exc}"
            ) from exc
        return sent


def _truncate(message: bytes, limit: int) -> bytes:
    """Cut an over-long datagram at a UTF-8 boundary (the marker is in the header)."""
    if len(message) <= limit:
        return message
    return message[:limit].decode("utf-8", "ignore").encode()


def ndjson_record(event: Event, marker: ExerciseMarker) -> dict[str, Any]:
    """The event's NDJSON record with the ``exercise`` marker object added."""
    record = event.to_record()
    record["exercise"] = marker.as_dict()
    return record


class NdjsonForwarder:
    """Appends marked NDJSON records to an explicit file (for a SIEM's file shipper)."""

    def __init__(self, path: str | Path, *, marker: ExerciseMarker) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ForwardingError(f"folder {self.path.parent} does not exist")
        if self.path.is_dir():
            raise ForwardingError(f"{self.path} is a folder, not a file")
        self.marker = marker

    def send(self, events: Iterable[Event]) -> int:
        """Append every event as one line; returns how many were written."""
        sent = 0
        try:
            with self.path.open("ab") as out:
                for event in events:
                    out.write(orjson.dumps(ndjson_record(event, self.marker)) + b"\n")
                    sent += 1
        except OSError as exc:
            raise ForwardingError(f"writing {self.path} failed: {exc}") from exc
        return sent
