"""Syslog and CEF rendering shared by the text sensors.

RFC 3164 (BSD): ``<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG``.
RFC 5424: ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``.
CEF: ``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`` with ``\\|``
and ``\\\\`` escaped in the header, ``\\=``, ``\\\\`` and ``\\n`` in extension
values.
"""

from __future__ import annotations

from simulator.fill import SECONDS, iso_ms, whole_second

# facility * 8 + severity
KERN_WARNING = 4
AUTH_INFO = 38
AUTHPRIV_NOTICE = 85
AUTHPRIV_INFO = 86
CRON_INFO = 78
LOCAL0_INFO = 134
LOCAL4_NOTICE = 165


def rfc3164(
    pri: int, ts: float, host: str, tag: str, pid: int | None, message: str
) -> str:
    """One BSD-syslog line (no year, local second precision, tag[pid])."""
    stamp = SECONDS[whole_second(ts)][2]
    if pid is None:
        return f"<{pri}>{stamp} {host} {tag}: {message}"
    return f"<{pri}>{stamp} {host} {tag}[{pid}]: {message}"


def rfc3164_untagged(pri: int, ts: float, host: str, message: str) -> str:
    """A BSD-syslog line whose message carries its own tag (``CEF:0|…``)."""
    return f"<{pri}>{SECONDS[whole_second(ts)][2]} {host} {message}"


def rfc5424(
    pri: int,
    ts: float,
    host: str,
    app: str,
    pid: int | None,
    message: str,
    msgid: str = "-",
) -> str:
    """One RFC 5424 line with no structured data."""
    return (
        f"<{pri}>1 {iso_ms(ts)} {host} {app} "
        f"{pid if pid is not None else '-'} {msgid} - {message}"
    )


def cef_header_escape(text: str) -> str:
    """Escape a CEF header field (backslash and pipe)."""
    if "\\" in text or "|" in text:
        return text.replace("\\", "\\\\").replace("|", "\\|")
    return text


def cef_value_escape(text: str) -> str:
    """Escape a CEF extension value (backslash, equals sign, newlines)."""
    if "\\" in text or "=" in text or "\n" in text or "\r" in text:
        return (
            text.replace("\\", "\\\\")
            .replace("=", "\\=")
            .replace("\r\n", "\\n")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def cef_values(*texts: str) -> tuple[str, ...]:
    """``texts`` escaped as CEF extension values, checked in one go.

    Addresses, names and keywords almost never hold a character CEF escapes, so
    one search over all of them saves escaping each on the per-event path.
    """
    joined = "".join(texts)
    if "\\" in joined or "=" in joined or "\n" in joined or "\r" in joined:
        return tuple(cef_value_escape(text) for text in texts)
    return texts


def cef(
    vendor: str,
    product: str,
    version: str,
    signature: str,
    name: str,
    severity: int,
    extension: list[tuple[str, object]],
) -> str:
    """A CEF:0 record (without a syslog header)."""
    ext = " ".join(f"{k}={cef_value_escape(str(v))}" for k, v in extension)
    head = "|".join(
        cef_header_escape(x) for x in (vendor, product, version, signature, name)
    )
    return f"CEF:0|{head}|{severity}|{ext}"
