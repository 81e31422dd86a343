"""Several workers take new connections in turn (``app.api.accept``): a burst of keep-alive
connections is shared between them, not left to whichever woke first."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api import accept
from app.api.accept import ConnectionTable, should_wait
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.floats(0, 1))
def test_a_worker_waits_only_while_another_holds_fewer_and_never_long(
    held: int, fewest: int, waited: float
) -> None:
    waits = should_wait(held, fewest, waited)
    assert waits == (held > fewest and waited < accept._MAX_WAIT)
    assert not should_wait(held, None, waited)  # alone: always accept


@pytest.fixture
def table_path() -> Iterator[Path]:
    path = ConnectionTable.create()
    yield path
    path.unlink()


def test_each_worker_sees_the_fewest_the_others_hold(table_path: Path) -> None:
    first, second, third = (ConnectionTable(table_path) for _ in range(3))
    first.publish(7)
    second.publish(3)
    third.publish(5)
    assert (first.fewest_elsewhere(), second.fewest_elsewhere()) == (3, 5)
    second.close()  # a worker that stops leaves the table
    assert first.fewest_elsewhere() == 5
    third.close()
    assert first.fewest_elsewhere() is None
    first.close()


def test_a_killed_workers_slot_goes_to_its_replacement(table_path: Path) -> None:
    finished = subprocess.Popen(["true"])  # noqa: S607 - a pid no process has any more
    finished.wait()
    with table_path.open("r+b") as raw:  # every slot taken by workers killed without leaving
        for slot in range(accept._SLOTS):
            raw.seek(slot * accept._SLOT.size)
            raw.write(accept._SLOT.pack(finished.pid, 0))
    replacement = ConnectionTable(table_path)  # no "table full": a dead worker's slot is free
    replacement.publish(4)
    with table_path.open("rb") as raw:
        taken = [accept._SLOT.unpack(raw.read(accept._SLOT.size)) for _ in range(accept._SLOTS)]
    assert taken.count((os.getpid(), 4)) == 1
    replacement.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _established_inodes(port: int) -> set[str]:
    """The server ends of the established TCP connections on ``port`` (from /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":
            inodes.add(fields[9])
    return inodes


def _held_by(pid: int, inodes: set[str]) -> int:
    held = 0
    with os.scandir(f"/proc/{pid}/fd") as fds:
        for fd in fds:
            try:
                target = os.readlink(fd.path)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
    return held


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="counts connections in /proc")
def test_a_burst_of_connections_is_shared_between_two_workers(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CONTACT_DESK_SWEEP_INTERVAL_SECONDS": "0"}
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output)  # noqa: S603
    connections: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 90
        while log.read_text().count("service ready") < 2:  # both workers started
            assert server.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        workers = [pid for pid in _children(server.pid) if _is_worker(pid)]
        assert len(workers) == 2
        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        for connection in connections:  # answered: accepted by a worker, and kept open
            connection.sendall(request)
        for connection in connections:
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        inodes = _established_inodes(port)
        held = sorted(_held_by(worker, inodes) for worker in workers)
        assert sum(held) == 16
        # By chance of wake-up alone, one worker took most or all of such a burst.
        assert held[0] >= 6, held
    finally:
        for connection in connections:
            connection.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _is_worker(pid: int) -> bool:
    try:
        return "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False
