"""The embedded PostgreSQL used when no ``DATABASE_URL`` is set.

``pgserver`` ships real PostgreSQL binaries in a wheel. The server listens only on a Unix
socket inside (or near) the data folder; the data folder is kept, so the next start reuses it.
When the process runs as root, pgserver runs PostgreSQL as its own unprivileged system user,
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.core.processes import process_exists

logger = logging.getLogger(__name__)

DATABASE_NAME = "contact_desk"


@dataclass
class EmbeddedPostgres:
    """A handle on a running embedded server; ``stop()`` stops it when this is the last user."""

    data_dir: Path
    socket_dir: str
    _server: Any

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        """Release this process's handle; the server stops when no process uses it any more."""
        self._server.cleanup()

    def is_running(self) -> bool:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info is not None and bool(info.is_running())

    def ensure_running(self) -> None:
        """Start the server again if it has stopped (crashed, or stopped by an operator)."""
        with self._server._lock:
            self._server.ensure_postgres_running()

    def pg_ctl(self, *args: str) -> None:
        """Run ``pg_ctl`` on this data folder (tests use it to stop and restart the server)."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl([*args], pgdata=self.data_dir, user=self._server.system_user)


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start (or attach to) the embedded server in ``data_dir``; create ``database`` if missing."""
    from pgserver import get_server  # type: ignore[attr-defined]

    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    logger.info("starting embedded PostgreSQL", extra={"data_dir": str(data_dir)})
    _forget_exited_users(data_dir)
    server = get_server(data_dir, cleanup_mode="stop")
    socket_dir = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    handle = EmbeddedPostgres(data_dir=data_dir, socket_dir=socket_dir, _server=server)
    _create_database_if_missing(server, database)
    return handle


def _forget_exited_users(data_dir: Path) -> None:
    """pgserver stops the server when the last process using it exits, counting those processes
    by pid in ``.handle_pids.json``. A process that was killed (SIGKILL, out of memory) never
    takes its pid out, and then no later exit stops the server: it ran on after every Ctrl-C.
    Before attaching, forget the pids of processes that no longer exist (under pgserver's own
    inter-process lock, which guards that file)."""
    from pgserver.postgres_server import PostgresServer

    users = data_dir / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = [int(pid) for pid in json.loads(users.read_text())]
        except (FileNotFoundError, ValueError, TypeError):
            return
        running = [pid for pid in pids if process_exists(pid)]
        if running != pids:
            logger.info("forgot exited users of the embedded server", extra={"pids": pids})
            users.write_text(json.dumps(running))


def _create_database_if_missing(server: Any, database: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"unsafe database name: {database!r}")
    # The name is checked above, so building the statement as text is safe here.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" in exists:
        return
    try:
        server.psql(f'CREATE DATABASE "{database}";')
    except subprocess.CalledProcessError:
        # Another process created it between our check and our CREATE: that is fine.
        logger.info("database already created by another process", extra={"db": database})
