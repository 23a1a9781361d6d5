"""The leader lock on both backends: one holder at a time, a second one waits, and it
takes over as soon as the holder's process is killed."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from socdrill.leader import LeaderLock, LeaderLockError
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

# A process that takes the lock, says so, and keeps it until it is killed.
HOLDER = """\
import os, sys, time
from socdrill.leader import LeaderLock
lock = LeaderLock(os.environ["LOCK_URL"], "engine")
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""
TAKEOVER_LIMIT_S = 5.0


@pytest.fixture(params=["sqlite", "postgresql"])
def lock_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'socdrill.db'}"
    return request.getfixturevalue("postgres_url")


def start_holder(url: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        cwd=ROOT,
        env={**os.environ, "LOCK_URL": url},
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], 30)
    if not ready or process.stdout.readline().strip() != "held":
        process.kill()
        process.wait()
        pytest.fail("the holder process did not take the lock")
    return process


def test_only_one_holder_at_a_time(lock_url):
    first, second = LeaderLock(lock_url, "engine"), LeaderLock(lock_url, "engine")
    assert first.acquire(blocking=False)
    try:
        assert first.held()
        assert not second.acquire(blocking=False)
        assert not second.held()
    finally:
        first.release()
    assert not first.held()
    assert second.acquire(blocking=False)
    second.release()


def test_a_second_holder_waits_its_timeout_then_gives_up(lock_url):
    with LeaderLock(lock_url, "engine"):
        waiter = LeaderLock(lock_url, "engine")
        started = time.monotonic()
        assert not waiter.acquire(timeout=0.5)
        assert time.monotonic() - started >= 0.45


def test_locks_with_different_names_are_independent(lock_url):
    with LeaderLock(lock_url, "engine"):
        other = LeaderLock(lock_url, "importer")
        assert other.acquire(blocking=False)
        other.release()


def test_acquiring_twice_and_releasing_twice_are_harmless(lock_url):
    lock = LeaderLock(lock_url, "engine")
    assert lock.acquire(blocking=False)
    assert lock.acquire(blocking=False)
    lock.release()
    lock.release()
    assert LeaderLock(lock_url, "engine").acquire(blocking=False)


def test_leaving_the_with_block_releases_even_on_error(lock_url):
    with pytest.raises(RuntimeError), LeaderLock(lock_url, "engine"):
        raise RuntimeError("engine crashed")
    lock = LeaderLock(lock_url, "engine")
    assert lock.acquire(blocking=False)
    lock.release()


def test_a_waiting_engine_takes_over_when_the_leader_is_killed(lock_url):
    holder = start_holder(lock_url)
    waiter = LeaderLock(lock_url, "engine")
    outcome: dict[str, float | bool] = {}

    def wait_for_leadership() -> None:
        outcome["acquired"] = waiter.acquire(timeout=30)
        outcome["at"] = time.monotonic()

    try:
        assert not waiter.acquire(blocking=False)
        thread = threading.Thread(target=wait_for_leadership)
        thread.start()
        time.sleep(0.3)
        assert "acquired" not in outcome, "the waiter must wait while the leader lives"
        killed_at = time.monotonic()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        thread.join(timeout=30)
        assert outcome.get("acquired") is True
        assert outcome["at"] - killed_at < TAKEOVER_LIMIT_S
        assert waiter.held()
    finally:
        waiter.release()
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_a_leader_whose_database_session_ends_is_told_it_leads_no_more(
    postgres_server, postgres_url
):
    leader = LeaderLock(postgres_url, "engine")
    assert leader.acquire(blocking=False)
    postgres_server.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'socdrill leader engine'"
    )
    deadline = time.monotonic() + 5
    while leader.held() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leader.held()
    successor = LeaderLock(postgres_url, "engine")
    assert successor.acquire(blocking=False)
    successor.release()


def test_the_sqlite_lock_file_names_its_holder(tmp_path):
    url = f"sqlite:///{tmp_path / 'socdrill.db'}"
    with LeaderLock(url, "engine"):
        lock_file = tmp_path / "socdrill.db.engine.lock"
        assert lock_file.read_text().strip() == str(os.getpid())


@pytest.mark.parametrize(
    ("url", "name", "message"),
    [
        ("sqlite:///{tmp}/app.db", "", "lock name"),
        ("sqlite:///{tmp}/app.db", "../escape", "lock name"),
        ("sqlite:///{tmp}/app.db", "x" * 65, "lock name"),
        ("sqlite:///{tmp}/app.db", "with space", "lock name"),
        ("not a url", "engine", "not a database URL"),
        ("mysql://db.example.org/socdrill", "engine", "'mysql'"),
        ("sqlite://", "engine", "in-memory"),
        ("sqlite:///:memory:", "engine", "in-memory"),
        ("sqlite:///{tmp}/missing/app.db", "engine", "does not exist"),
    ],
)
def test_a_lock_that_cannot_work_is_refused_with_the_reason(
    tmp_path, url, name, message
):
    with pytest.raises(LeaderLockError, match=message):
        LeaderLock(url.format(tmp=tmp_path), name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": -1}, "zero or more"),
        ({"blocking": False, "timeout": 1}, "no timeout"),
    ],
)
def test_bad_acquire_arguments_are_refused(tmp_path, options, message):
    lock = LeaderLock(f"sqlite:///{tmp_path / 'app.db'}", "engine")
    with pytest.raises(ValueError, match=message):
        lock.acquire(**options)
    assert not lock.held()
