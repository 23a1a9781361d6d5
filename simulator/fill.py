"""Fast, deterministic fillers for the values real sensors write on their own.

Timestamps in every native style, GUIDs, Sysmon process and logon GUIDs, file hashes,
record numbers and logon ids. Everything here runs on the per-event hot path, so it
uses ``random.Random`` draws, small caches and f-strings: no Faker, no regex, no
``datetime`` per call.
"""

from __future__ import annotations

import hashlib
import random
import time
from functools import lru_cache

# Events are stamped in milliseconds; every formatter splits seconds the same way as
# ``simulator.events.iso_ms`` so that a record's ``ts`` and its native stamp agree.
_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_CACHE_LIMIT = 200_000


def split_ms(ts: float) -> tuple[int, int]:
    """Whole seconds and milliseconds of ``ts``, rounded as ``iso_ms`` rounds them."""
    whole = int(ts // 1)
    millis = round((ts - whole) * 1000)  # round() of a float is an int already
    if millis == 1000:
        return whole + 1, 0
    return whole, millis


def whole_second(ts: float) -> int:
    """The second ``ts`` is stamped with: ``split_ms(ts)[0]`` without the millis."""
    whole = int(ts // 1)
    # split_ms rounds the milliseconds; only 1000 of them carry into the next second.
    return whole + 1 if round((ts - whole) * 1000) == 1000 else whole


def quantise_ms(ts: float) -> float:
    """``ts`` rounded to the millisecond, the resolution every sensor writes."""
    return round(ts * 1000) / 1000


class _SecondCache(dict[int, tuple[str, ...]]):
    """Formatted prefixes of one whole second, built once and reused."""

    def __missing__(self, whole: int) -> tuple[str, ...]:
        if len(self) > _CACHE_LIMIT:
            self.clear()
        t = time.gmtime(whole)
        y, mo, d, h, mi, s = (
            t.tm_year,
            t.tm_mon,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec,
        )
        mon = _MONTHS[mo - 1]
        hms = f"{h:02d}:{mi:02d}:{s:02d}"
        parts = (
            f"{y:04d}-{mo:02d}-{d:02d}T{hms}",  # 0 ISO 8601 / RFC 5424 / CloudTrail
            f"{y:04d}-{mo:02d}-{d:02d} {hms}",  # 1 Sysmon UtcTime
            f"{mon} {d:2d} {hms}",  # 2 RFC 3164
            f"{d:02d}/{mon}/{y:04d}:{hms} +0000",  # 3 Apache combined
            f"{d:02d}-{mon}-{y:04d} {hms}",  # 4 BIND querylog
            f"{mon} {d:02d} {y:04d} {hms}",  # 5 CEF rt (MMM dd yyyy HH:mm:ss)
        )
        self[whole] = parts
        return parts


_SECONDS = _SecondCache()
SECONDS = _SECONDS  # for callers that split milliseconds themselves
# "000" to "999": looked up rather than formatted with ``:03d``, which costs more
# than the rest of a timestamp on the per-event path.
MILLIS = tuple(f"{i:03d}" for i in range(1000))


def iso_ms(ts: float) -> str:
    """``2026-03-02T08:00:00.123Z``; equal to ``simulator.events.iso_ms`` but cached."""
    whole, millis = split_ms(ts)
    return f"{_SECONDS[whole][0]}.{MILLIS[millis]}Z"


def iso_s(ts: float) -> str:
    """``2026-03-02T08:00:00Z`` (CloudTrail ``eventTime``)."""
    return _SECONDS[split_ms(ts)[0]][0] + "Z"


def iso_us(ts: float, micros: int) -> str:
    """``2026-03-02T08:00:00.123456Z`` (Windows ``TimeCreated``, microsecond form)."""
    whole, millis = split_ms(ts)
    return f"{_SECONDS[whole][0]}.{millis * 1000 + micros:06d}Z"


def sysmon_time(ts: float) -> str:
    """``2026-03-02 08:00:00.123`` (Sysmon ``UtcTime``)."""
    whole, millis = split_ms(ts)
    return f"{_SECONDS[whole][1]}.{MILLIS[millis]}"


def rfc3164_time(ts: float) -> str:
    """``Mar  2 08:00:00`` (BSD syslog: day space-padded, no year, no fraction)."""
    return _SECONDS[split_ms(ts)[0]][2]


def rfc5424_time(ts: float) -> str:
    """``2026-03-02T08:00:00.123Z`` (RFC 5424 TIMESTAMP with milliseconds)."""
    return iso_ms(ts)


def apache_time(ts: float) -> str:
    """``02/Mar/2026:08:00:00 +0000`` (Apache ``%t`` without the brackets)."""
    return _SECONDS[split_ms(ts)[0]][3]


def bind_time(ts: float) -> str:
    """``02-Mar-2026 08:00:00.123`` (BIND querylog)."""
    whole, millis = split_ms(ts)
    return f"{_SECONDS[whole][4]}.{MILLIS[millis]}"


def cef_time(ts: float) -> str:
    """``Mar 02 2026 08:00:00`` (CEF ``rt`` in its date form)."""
    return _SECONDS[split_ms(ts)[0]][5]


def squid_time(ts: float) -> str:
    """``1772438400.123`` (squid access.log: epoch seconds with milliseconds)."""
    whole, millis = split_ms(ts)
    return f"{whole}.{MILLIS[millis]}"


def epoch_ms(ts: float) -> int:
    """Milliseconds since the epoch (CEF ``rt`` in its numeric form)."""
    whole, millis = split_ms(ts)
    return whole * 1000 + millis


# --- identifiers -----------------------------------------------------------------


def guid(rng: random.Random, upper: bool = False) -> str:
    """A random version-4 GUID, ``xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx``."""
    h = f"{rng.getrandbits(128):032X}" if upper else f"{rng.getrandbits(128):032x}"
    variant = ("89AB" if upper else "89ab")[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def hex_id(rng: random.Random, digits: int) -> str:
    """``digits`` random lower-case hex characters."""
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def stable_int(*parts: object, bits: int = 64) -> int:
    """A deterministic integer from ``parts`` (SHA-256, never Python's salted hash)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[: bits // 8], "big")


@lru_cache(maxsize=4096)
def machine_prefix(computer: str) -> str:
    """The 8 hex digits Sysmon puts first in every GUID it makes on one machine."""
    return f"{stable_int('machine', computer.lower(), bits=32):08X}"


# Sysmon GUIDs are rendered as EVTX-to-JSON converters print them (upper case, no
# braces), the shape of the recorded real events the sensors are checked against.
_BOOT_TAGS = ("0800", "0C00", "0D00", "4002")


@lru_cache(maxsize=4096)
def boot_tag(computer: str) -> str:
    """The last GUID group Sysmon keeps for one boot of one machine."""
    return _BOOT_TAGS[stable_int("boot", computer.lower(), bits=8) % len(_BOOT_TAGS)]


def process_guid(computer: str, ts: float, rng: random.Random) -> str:
    """A Sysmon ProcessGuid: machine prefix, process start time, counter, boot tag."""
    t = int(ts)
    return (
        f"{machine_prefix(computer)}-{t & 0xFFFF:04X}-{(t >> 16) & 0xFFFF:04X}-"
        f"{rng.getrandbits(16):04X}-00000000{boot_tag(computer)}"
    )


@lru_cache(maxsize=65536)
def running_process(computer: str, image: str, day: int) -> tuple[str, int]:
    """(ProcessGuid, ProcessId) of the instance of ``image`` running on ``day``.

    For events of a process whose start was not logged (a browser open since the
    morning): the same all day, whoever asks and whichever piece of the day is being
    generated, so analysts can pivot on it.
    """
    h = stable_int("process", computer.lower(), image.lower(), day, bits=64)
    started = day * 86_400 + 25_200 + (h & 0x3FFF)  # around 07:00 UTC
    guid = (
        f"{machine_prefix(computer)}-{started & 0xFFFF:04X}-"
        f"{(started >> 16) & 0xFFFF:04X}-{(h >> 16) & 0xFFFF:04X}-"
        f"00000000{boot_tag(computer)}"
    )
    return guid, 4 * (64 + ((h >> 32) & 0xFFF))


def logon_guid(computer: str, logon_ts: float, logon_id: int) -> str:
    """A Sysmon LogonGuid: machine prefix, logon time, then the LogonId's bytes."""
    t = int(logon_ts)
    raw = logon_id.to_bytes(8, "little").hex().upper()
    return (
        f"{machine_prefix(computer)}-{t & 0xFFFF:04X}-{(t >> 16) & 0xFFFF:04X}-"
        f"{raw[:4]}-{raw[4:]}"
    )


SYSTEM_LOGON_ID = 0x3E7
LOCAL_SERVICE_LOGON_ID = 0x3E5
NETWORK_SERVICE_LOGON_ID = 0x3E4


@lru_cache(maxsize=65536)
def session_logon_id(salt: object, computer: str, user: str, day: int) -> int:
    """The LogonId of ``user``'s session on ``computer`` on ``day`` (stable per day)."""
    return (
        0x20000
        + stable_int("logon", salt, computer.lower(), user.lower(), day, bits=32)
        % 0x3FFFFF
    )


def record_id(counters: dict[str, int], computer: str, channel: str, ts: float) -> int:
    """The next EventRecordID for ``channel`` on ``computer``.

    Windows numbers records per host and channel. Without the host's whole history
    the number is derived from time: each second owns ``RECORDS_PER_SECOND`` numbers
    (plus a per-host offset), and within a context numbers only go up. Because a
    second's numbers never overlap the next second's, streams generated piecewise
    (one context per noise slot) stay strictly increasing, and noise and scenario
    events written at the same moment land in the same range.
    """
    key = computer + "|" + channel
    estimate = record_base(computer, channel) + record_offset(ts)
    previous = counters.get(key, 0)
    value = estimate if estimate > previous else previous + 1
    counters[key] = value
    return value


RECORD_EPOCH = 1_735_689_600  # 2025-01-01: hosts count records from about then
RECORDS_PER_SECOND = 64


def record_offset(ts: float) -> int:
    """Where ``ts``'s second starts in every host's record numbering."""
    seconds = int(ts) - RECORD_EPOCH
    return seconds * RECORDS_PER_SECOND if seconds > 0 else 0


@lru_cache(maxsize=8192)
def record_base(computer: str, channel: str) -> int:
    """A per-host, per-channel offset so hosts' record numbers differ."""
    return 10_000 + stable_int("records", computer.lower(), channel, bits=32) % 900_000


# --- hashes ----------------------------------------------------------------------


@lru_cache(maxsize=16384)
def file_hashes(path: str, version: str = "") -> tuple[str, str, str, str]:
    """Synthetic but stable (SHA1, MD5, SHA256, IMPHASH) for a file path + version.

    The same path always has the same hashes, so analysts can pivot on a hash; the
    values are derived, never those of a real file.
    """
    seed = f"{path.lower()}|{version}".encode()
    return (
        hashlib.sha1(b"sha1|" + seed, usedforsecurity=False).hexdigest().upper(),
        hashlib.md5(b"md5|" + seed, usedforsecurity=False).hexdigest().upper(),
        hashlib.sha256(b"sha256|" + seed).hexdigest().upper(),
        hashlib.md5(b"imphash|" + seed, usedforsecurity=False).hexdigest().upper(),
    )


@lru_cache(maxsize=16384)
def sysmon_hashes(path: str, version: str = "") -> str:
    """Sysmon's ``Hashes`` value: ``SHA1=…,MD5=…,SHA256=…,IMPHASH=…``."""
    sha1, md5, sha256, imphash = file_hashes(path, version)
    return f"SHA1={sha1},MD5={md5},SHA256={sha256},IMPHASH={imphash}"


def sha256_of(text: str) -> str:
    """A stable lower-case SHA-256 hex for a name (attachments, downloads)."""
    return file_hashes(text)[2].lower()


# --- addresses -------------------------------------------------------------------


def ephemeral_port(rng: random.Random) -> int:
    """A client port in the Windows/Linux dynamic range."""
    return 49152 + rng.getrandbits(14)


def windows_pid(rng: random.Random) -> int:
    """A Windows process id (multiples of 4)."""
    return 4 * (64 + rng.getrandbits(12))
