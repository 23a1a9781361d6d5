"""Real PostgreSQL and Redis servers for tests, started on loopback and stopped after.

Each server runs from the Debian packages in a fresh temporary folder, on a free
loopback port, with a random password, and is shared by every test of the run:

- ``postgres_server``: ``initdb`` + ``pg_ctl start`` (as the ``postgres`` account when
  the tests run as root, because PostgreSQL refuses root); durability is switched off
  because a test cluster is thrown away anyway.
- ``redis_server``: ``redis-server`` in the foreground without persistence.

A missing binary fails the run under CI (``.ci/run`` must install the packages) and
skips the test elsewhere, saying which package to install. The fixtures are defined
here and imported by the conftests that need them; both imports share one server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import pytest

from tests.conftest import IN_CI

START_TIMEOUT_S = 30
POSTGRES_SUPERUSER = "socdrill"
POSTGRES_ACCOUNTS = ("postgres", "nobody")
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# A test cluster is disposable: durability only costs time here.
POSTGRES_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


def missing_service(reason: str) -> NoReturn:
    """Fail under CI (the service must be there), skip elsewhere with the reason."""
    if IN_CI:
        pytest.fail(f"{reason}; .ci/run must install it before the tests")
    pytest.skip(reason)


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _version_key(path: Path) -> tuple[int, ...]:
    version = path.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def postgres_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``pg_config --bindir`` when it
    has them (it may describe only the client), else the newest Debian version."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidate = Path(result.stdout.strip())
        if result.returncode == 0 and (candidate / "initdb").exists():
            return candidate
    found = [
        path
        for path in Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/"))
        if (path / "initdb").exists() and (path / "pg_ctl").exists()
    ]
    return max(found, key=_version_key) if found else None


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (
            p
            for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server")
            if Path(p).exists()
        ),
        None,
    )


def _server_account() -> pwd.struct_passwd | None:
    """The account the PostgreSQL server runs as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in POSTGRES_ACCOUNTS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError(
        "PostgreSQL refuses to run as root and no 'postgres' or 'nobody' account "
        "exists to run it as"
    )


def _run_as(
    account: pwd.struct_passwd | None, args: list[str], **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    if account is not None:
        kwargs |= {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        # The server account may not be able to read the directory we run from.
        kwargs.setdefault("cwd", "/")
    return subprocess.run(  # noqa: S603 (our own argument list, no shell)
        args, capture_output=True, text=True, check=False, **kwargs
    )


@dataclass
class PostgresServer:
    """A running test cluster; ``url(name)`` is a SQLAlchemy URL for psycopg 3."""

    bindir: Path
    root: Path
    port: int
    password: str
    account: pwd.struct_passwd | None
    host: str = "127.0.0.1"
    user: str = POSTGRES_SUPERUSER
    _running: bool = field(default=True, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return (
            f"postgresql+psycopg://{self.user}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{database}"
        )

    def libpq_params(self, database: str = "postgres") -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": database,
        }

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need it)."""
        import psycopg

        with psycopg.connect(**self.libpq_params(database), autocommit=True) as conn:
            cursor = conn.execute(sql)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database (optionally a copy of ``template``); returns its URL."""
        statement = f'CREATE DATABASE "{name}"'
        if template:
            statement += f' TEMPLATE "{template}"'
        self.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run_as(
            self.account, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]
        )

    @property
    def running(self) -> bool:
        return self._running and self.pg_ctl("status").returncode == 0

    def stop(self) -> None:
        """Stop the server and remove its folder (safe to call twice)."""
        if self._running:
            self.pg_ctl("stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_S))
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)


def _server_folder(prefix: str, account: pwd.struct_passwd | None) -> Path:
    # Not under pytest's tmp_path: that is private to root, and PostgreSQL may
    # run as another account that must own its folder.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    return root


def start_postgres() -> PostgresServer:
    """initdb and start a private PostgreSQL on a free loopback port."""
    bindir = postgres_bindir()
    if bindir is None:
        missing_service(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed "
            "(Debian package 'postgresql')"
        )
    account = _server_account()
    root = _server_folder("socdrill-pg-", account)
    password = secrets.token_urlsafe(18)
    server = PostgresServer(bindir, root, 0, password, account)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    (root / "socket").mkdir()
    if account is not None:
        for path in (pwfile, root / "socket"):
            os.chown(path, account.pw_uid, account.pw_gid)
    init = _run_as(
        account,
        [
            str(bindir / "initdb"),
            "-D",
            str(server.datadir),
            "-U",
            POSTGRES_SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )
    pwfile.unlink()
    if init.returncode != 0:
        server._running = False
        server.stop()
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    last_error = ""
    for _attempt in range(3):  # a free port can be taken before we bind it
        server.port = free_tcp_port()
        settings = {
            **POSTGRES_SETTINGS,
            "port": str(server.port),
            "unix_socket_directories": str(server.socket_dir),
        }
        options = " ".join(f"-c {k}={shlex.quote(v)}" for k, v in settings.items())
        started = server.pg_ctl(
            "start",
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-l",
            str(server.log_file),
            "-o",
            options,
        )
        if started.returncode == 0:
            return server
        last_error = started.stdout + started.stderr
        if server.log_file.exists():
            last_error += server.log_file.read_text(errors="replace")
    server._running = False
    server.stop()
    raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")


@dataclass
class RedisServer:
    """A running redis-server; ``url(db)`` is a ``redis://`` URL with the password."""

    root: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"

    def url(self, db: int = 0) -> str:
        return f"redis://:{quote(self.password, safe='')}@{self.host}:{self.port}/{db}"

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis.from_url(self.url(db))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server and remove its folder (safe to call twice)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_for_redis(server: RedisServer) -> None:
    import redis

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {server.process.returncode}")
        try:
            with server.client() as client:
                if client.ping():
                    return
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on port {server.port} in time")


def start_redis() -> RedisServer:
    """Start a private redis-server on a free loopback port, without persistence."""
    binary = redis_server_binary()
    if binary is None:
        missing_service("redis-server is not installed (Debian package 'redis-server')")
    root = _server_folder("socdrill-redis-", None)
    password = secrets.token_urlsafe(18)
    last_error = ""
    for _attempt in range(3):
        port = free_tcp_port()
        # A config file keeps the password out of the process list.
        conf = root / "redis.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\nprotected-mode yes\n"
            f'save ""\nappendonly no\ndir {root}\n'
            f"logfile {root / 'redis.log'}\nrequirepass {password}\n"
        )
        conf.chmod(0o600)
        process = subprocess.Popen(  # noqa: S603
            [binary, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = RedisServer(root, port, password, process)
        try:
            _wait_for_redis(server)
            return server
        except RuntimeError as error:
            if process.poll() is None:
                process.kill()
                process.wait()
            log = root / "redis.log"
            last_error = f"{error}\n" + (log.read_text() if log.exists() else "")
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"redis-server did not start:\n{last_error}")


# One server of each kind per test run, however many conftests import the fixtures.
_SHARED: dict[str, tuple[Any, int]] = {}


@contextlib.contextmanager
def shared_service(kind: str, start: Callable[[], Any]) -> Iterator[Any]:
    """Start ``kind`` on first use and stop it when its last user is done."""
    if kind in _SHARED:
        server, users = _SHARED[kind]
        _SHARED[kind] = (server, users + 1)
    else:
        server = start()
        _SHARED[kind] = (server, 1)
    try:
        yield server
    finally:
        server, users = _SHARED[kind]
        if users == 1:
            del _SHARED[kind]
            server.stop()
        else:
            _SHARED[kind] = (server, users - 1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL on loopback for the whole run."""
    with shared_service("postgres", start_postgres) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis on loopback for the whole run."""
    with shared_service("redis", start_redis) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """Redis emptied for one test."""
    with redis_server.client() as client:
        client.flushall()
    yield redis_server.url()
    with redis_server.client() as client:
        client.flushall()
