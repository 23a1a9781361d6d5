"""Real services for integration tests, started on loopback in a temporary folder.

PostgreSQL and Redis come from ``tests/services.py`` (fixtures ``postgres_server``,
``postgres_url``, ``redis_server``, ``redis_url``).

``rsyslog`` runs the Debian ``rsyslogd`` in the foreground with its own config, pid
file and work directory under the test's temporary folder, listening on free loopback
ports (UDP and TCP) and writing every received message to one file. Under CI a missing
binary fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import missing

# Real PostgreSQL and Redis (tests/services.py); imported so the tests here see them.
from tests.services import (  # noqa: F401
    postgres_server,
    postgres_url,
    redis_server,
    redis_url,
)

RSYSLOGD_CANDIDATES = ("/usr/sbin/rsyslogd", "/sbin/rsyslogd")
START_TIMEOUT_S = 15.0

# One tab-separated line per message: what the tests check, nothing rsyslog adds.
RSYSLOG_CONF = """\
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
template(name="exercise" type="string"
         string="%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="exercise") {{
    action(type="omfile" file="{output}" template="exercise" flushOnTXEnd="on")
}}
input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="exercise")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="exercise")
"""


def find_rsyslogd() -> str:
    """Path of rsyslogd, or fail (CI) / skip (elsewhere) saying how to install it."""
    found = shutil.which("rsyslogd") or next(
        (path for path in RSYSLOGD_CANDIDATES if Path(path).exists()), None
    )
    if found:
        return found
    missing("rsyslogd is not installed: apt-get install -y rsyslog")


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Rsyslog:
    """A running rsyslogd: where to send, and the file it writes what it received."""

    udp_port: int
    tcp_port: int
    output: Path
    process: subprocess.Popen[bytes]

    def lines(self, expected: int, timeout_s: float = 10.0) -> list[str]:
        """Received lines, waiting until at least ``expected`` arrived (or timeout)."""
        deadline = time.monotonic() + timeout_s
        lines: list[str] = []
        while time.monotonic() < deadline:
            if self.output.exists():
                lines = self.output.read_text(encoding="utf-8").splitlines()
                if len(lines) >= expected:
                    return lines
            time.sleep(0.05)
        return lines


def _wait_for_tcp(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rsyslogd exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"rsyslogd did not listen on TCP port {port} in time")


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    """A private rsyslogd on loopback, stopped and cleaned up after the test."""
    binary = find_rsyslogd()
    work = tmp_path / "rsyslog-work"
    work.mkdir()
    output = tmp_path / "received.log"
    udp_port, tcp_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(
        RSYSLOG_CONF.format(
            work=work, output=output, udp_port=udp_port, tcp_port=tcp_port
        )
    )
    check = subprocess.run(
        [binary, "-N1", "-f", str(conf)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, f"rsyslog rejected its config:\n{check.stderr}"
    log = (tmp_path / "rsyslogd.stderr").open("wb")
    process = subprocess.Popen(
        [binary, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid")],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        try:
            _wait_for_tcp(tcp_port, process)
        except RuntimeError as exc:
            log.flush()
            details = (tmp_path / "rsyslogd.stderr").read_text(errors="replace")
            pytest.fail(f"{exc}\n{details}")
        yield Rsyslog(udp_port, tcp_port, output, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
