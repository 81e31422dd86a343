"""Worker processes take new connections in turn: the one holding the fewest accepts next.

With ``--workers N`` uvicorn's workers share one listening socket, and each worker's event
loop, when woken, accepts every connection waiting. A burst of new connections (a proxy or the
IVR opening its keep-alive pool, a load test) lands mostly on whichever worker woke first.
Measured on registrations with 32 keep-alive connections and two workers: splits of 27/5, 25/7
and 21/11 were common, and the worker holding 27 answered at three to five times the latency of
the other for as long as the connections lived (p99 670–715 ms against 140 ms at 17/15).

Here each worker accepts on its own terms (:class:`BalancedServer`): one connection at a time,
and only while no other worker holds fewer connections. The workers publish how many they hold
in a small table shared through a memory-mapped file (:class:`ConnectionTable`). A worker that
holds more waits a millisecond and looks again, so the other takes the connection; if the other
does not (busy, stuck, killed), the waiting worker accepts after ``_MAX_WAIT`` anyway — a
connection is never left waiting on the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import socket
import struct
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.supervisors import multiprocess

from app.core.processes import process_exists

logger = logging.getLogger(__name__)

TABLE_ENV = "CONTACT_DESK_ACCEPT_TABLE"
_SLOTS = 64
_SLOT = struct.Struct("=qq")  # a worker's pid (0: free) and the connections it holds
_WAIT_STEP = 0.001
_MAX_WAIT = 0.02
_REFRESH = 0.25  # connections close without telling the table: publish the count this often


def should_wait(held: int, fewest_elsewhere: int | None, waited: float) -> bool:
    """Whether a worker holding ``held`` connections leaves the next one to another worker."""
    return fewest_elsewhere is not None and held > fewest_elsewhere and waited < _MAX_WAIT


class ConnectionTable:
    """The connections each worker holds, one slot a worker, in a file every worker maps."""

    def __init__(self, path: Path) -> None:
        self._file = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._file, _SLOTS * _SLOT.size)
        self._pid = os.getpid()
        self._slot = self._claim()

    @staticmethod
    def create() -> Path:
        """A new, empty table (in the parent process, before the workers start)."""
        handle, name = tempfile.mkstemp(prefix="contact-desk-accept-")
        os.write(handle, bytes(_SLOTS * _SLOT.size))
        os.close(handle)
        return Path(name)

    def _claim(self) -> int:
        # Under a lock: two workers starting together must not take the same slot. A slot whose
        # worker has died (killed, so it never freed it) goes to its replacement.
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            for slot in range(_SLOTS):
                pid, _ = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                if pid == 0 or not process_exists(pid):
                    _SLOT.pack_into(self._map, slot * _SLOT.size, self._pid, 0)
                    return slot
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        raise RuntimeError(f"more than {_SLOTS} workers share one connection table")

    def publish(self, held: int) -> None:
        _SLOT.pack_into(self._map, self._slot * _SLOT.size, self._pid, held)

    def fewest_elsewhere(self) -> int | None:
        """The fewest connections another live worker holds; ``None`` when there is none."""
        fewest: int | None = None
        for slot in range(_SLOTS):
            if slot == self._slot:
                continue
            pid, held = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if pid != 0 and (fewest is None or held < fewest):
                fewest = held
        return fewest

    def close(self) -> None:
        _SLOT.pack_into(self._map, self._slot * _SLOT.size, 0, 0)
        self._map.close()
        os.close(self._file)


class _Acceptor:
    """Accepts from one listening socket for one worker, as the table allows."""

    def __init__(self, server: BalancedServer, sock: socket.socket, table: ConnectionTable):
        self._server = server
        self._sock = sock
        self._table = table
        self._loop = asyncio.get_running_loop()
        self._opening: set[asyncio.Task[object]] = set()
        self._waiting_since: float | None = None
        self._resume: asyncio.TimerHandle | None = None
        self._refresh: asyncio.TimerHandle | None = None
        self._closed = False
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._ready)
        self._publish()

    def _held(self) -> int:
        return len(self._server.server_state.connections) + len(self._opening)

    def _publish(self) -> None:
        self._table.publish(self._held())
        self._refresh = self._loop.call_later(_REFRESH, self._publish)

    def _ready(self) -> None:
        held = self._held()
        now = self._loop.time()
        waited = 0.0 if self._waiting_since is None else now - self._waiting_since
        if should_wait(held, self._table.fewest_elsewhere(), waited):
            if self._waiting_since is None:
                self._waiting_since = now
            self._pause(_WAIT_STEP)
            return
        self._waiting_since = None
        try:
            connection, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return  # another worker took it
        except OSError as exc:
            # Out of file descriptors or memory: the connection stays queued; try again soon.
            logger.warning("accepting a connection failed", extra={"error": str(exc)})
            self._pause(0.1)
            return
        connection.setblocking(False)
        task = self._loop.create_task(self._open(connection))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)
        self._table.publish(held + 1)

    async def _open(self, connection: socket.socket) -> object:
        try:
            return await self._loop.connect_accepted_socket(self._server.protocol, sock=connection)
        except OSError:
            connection.close()  # the client left before its connection was set up
            return None

    def _pause(self, seconds: float) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._resume = self._loop.call_later(seconds, self._listen_again)

    def _listen_again(self) -> None:
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._ready)

    def close(self) -> None:
        self._closed = True
        for handle in (self._resume, self._refresh):
            if handle is not None:
                handle.cancel()
        self._loop.remove_reader(self._sock.fileno())


class BalancedServer(uvicorn.Server):
    """uvicorn's server, accepting through :class:`_Acceptor` when it runs as one of several
    workers sharing sockets (and not for TLS, which uvicorn's own listener handles)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._acceptors: list[_Acceptor] = []
        self._table: ConnectionTable | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        table = os.environ.get(TABLE_ENV)
        if sockets is None or self.config.ssl is not None or not table:
            await super().startup(sockets)
            return
        await super().startup(sockets=[])  # the application's start-up, and no listener
        self._table = ConnectionTable(Path(table))
        for sock in sockets:
            sock.listen(self.config.backlog)
        self._acceptors = [_Acceptor(self, sock, self._table) for sock in sockets]

    def protocol(self) -> asyncio.Protocol:
        """A connection's HTTP protocol, as uvicorn makes it for its own listener."""
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for acceptor in self._acceptors:
            acceptor.close()
        if self._table is not None:
            self._table.close()
        await super().shutdown(sockets)


class _BalancedProcess(multiprocess.Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = BalancedServer(config=self.config)
        return self._server


def run_workers(config: uvicorn.Config) -> None:
    """Serve with ``config.workers`` processes under uvicorn's supervisor (which restarts a
    worker that dies), each accepting through :class:`BalancedServer`."""
    table = ConnectionTable.create()
    os.environ[TABLE_ENV] = str(table)  # the workers inherit it
    # uvicorn's supervisor builds its worker processes from this name; the workers unpickle
    # the subclass and so run BalancedServer.
    multiprocess.Process = _BalancedProcess  # type: ignore[misc]
    try:
        sock = config.bind_socket()
        multiprocess.Multiprocess(config, sockets=[sock]).run()
    finally:
        with contextlib.suppress(FileNotFoundError):
            table.unlink()
