"""The embedded database: outages become 503 and heal; the serve command keeps data."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx import ASGITransport, AsyncClient

from app.core.config import Environment, Settings
from app.db import migrate
from app.db.embedded import start_embedded
from app.db.session import create_database
from app.main import create_app
from tests.conftest import add_actor, free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "first-start admin password"


async def test_database_outage_gives_503_then_recovers_without_restart(tmp_path: Path) -> None:
    server = start_embedded(tmp_path / "pg")
    settings = Settings(environment=Environment.TEST, database_url=server.url())
    db = create_database(settings, server.url())
    await migrate.upgrade(db.engine)
    app = create_app(settings, run_lifespan=False)
    app.state.db = db
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    admin = await add_actor(app, db.session_factory, role="admin")
    try:
        async with AsyncClient(
            transport=transport, base_url="http://t", headers=admin.headers
        ) as client:
            created = await client.post("/v1/branches", json={"code": "OUT01", "name": "x"})
            assert created.status_code == 201

            server.pg_ctl("-w", "stop", "-m", "fast")
            assert not server.is_running()
            down = await client.get("/v1/branches")
            assert down.status_code == 503
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.json()["code"] == "database_unavailable"
            assert int(down.headers["retry-after"]) >= 1
            assert (await client.get("/readyz")).status_code == 503
            write = await client.post("/v1/branches", json={"code": "OUT02", "name": "y"})
            assert write.status_code == 503

            server.ensure_running()
            back = await client.get("/v1/branches")
            assert back.status_code == 200
            assert "OUT01" in [b["code"] for b in back.json()["items"]]
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await db.dispose()
        server.stop()


async def test_a_restart_between_requests_is_invisible_to_the_next_ones(tmp_path: Path) -> None:
    """Pooled connections die with a restart; without pre-ping the first request on each
    finds out, and is run again on a new connection instead of failing."""
    server = start_embedded(tmp_path / "pg")
    settings = Settings(environment=Environment.TEST, database_url=server.url(), db_pool_size=4)
    db = create_database(settings, server.url())
    await migrate.upgrade(db.engine)
    app = create_app(settings, run_lifespan=False)
    app.state.db = db
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    admin = await add_actor(app, db.session_factory, role="admin")
    try:
        async with AsyncClient(
            transport=transport, base_url="http://t", headers=admin.headers
        ) as client:
            # Several connections in the pool, all alive before the restart.
            before = await asyncio.gather(*(client.get("/v1/branches") for _ in range(4)))
            assert [r.status_code for r in before] == [200] * 4
            server.pg_ctl("-w", "restart", "-m", "fast")
            after = await asyncio.gather(*(client.get("/v1/branches") for _ in range(4)))
            assert [r.status_code for r in after] == [200] * 4
            created = await client.post("/v1/branches", json={"code": "AFTER1", "name": "z"})
            assert created.status_code == 201, created.text
            listed = await client.get("/v1/branches", params={"limit": 200})
            assert [b["code"] for b in listed.json()["items"]].count("AFTER1") == 1
    finally:
        await db.dispose()
        server.stop()


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL"}}
    env["CONTACT_DESK_EMBEDDED_PG_DATA"] = str(tmp_path / "data" / "pg")
    env["CONTACT_DESK_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    return env


def _wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early with code {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"service not up within {timeout} s")


@pytest.fixture
def serve(serve_env: dict[str, str]) -> Iterator[tuple[str, object]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
        process = subprocess.Popen(command, cwd=ROOT, env=serve_env)  # noqa: S603 - our own CLI
        processes.append(process)
        _wait_until_up(base, process)
        return process

    yield base, start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _sign_in(base: str) -> dict[str, str]:
    """Sign in as the first-start admin, as the README's quick start says."""
    response = httpx.post(
        f"{base}/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _stop(process: subprocess.Popen[bytes], pgdata: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    # PostgreSQL removes postmaster.pid only when it shut down cleanly.
    assert not (pgdata / "postmaster.pid").exists()


def test_serve_starts_on_embedded_database_and_keeps_data(
    serve: tuple[str, object], serve_env: dict[str, str]
) -> None:
    base, start = serve
    pgdata = Path(serve_env["CONTACT_DESK_EMBEDDED_PG_DATA"])
    first = start()  # type: ignore[operator]
    assert httpx.get(f"{base}/docs").status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 200
    auth = _sign_in(base)
    created = httpx.post(
        f"{base}/v1/branches", json={"code": "KEEP01", "name": "留存"}, headers=auth
    )
    assert created.status_code == 201
    _stop(first, pgdata)
    assert (pgdata / "PG_VERSION").exists()

    second = start()  # type: ignore[operator]
    codes = [
        b["code"] for b in httpx.get(f"{base}/v1/branches", headers=_sign_in(base)).json()["items"]
    ]
    assert sorted(codes) == ["HQ", "KEEP01"]  # the head office comes from the first start
    _stop(second, pgdata)


def test_a_killed_serve_does_not_keep_the_next_one_from_stopping_its_database(
    serve: tuple[str, object], serve_env: dict[str, str]
) -> None:
    _, start = serve
    pgdata = Path(serve_env["CONTACT_DESK_EMBEDDED_PG_DATA"])
    killed = start()  # type: ignore[operator]
    killed.kill()  # no chance to let go of the database: it stays up, with a stale user
    killed.wait()
    assert (pgdata / "postmaster.pid").exists()
    _stop(start(), pgdata)  # type: ignore[operator]


@pytest.mark.parametrize("whole_group", [True, False], ids=["ctrl-c", "signal-to-tasks-only"])
def test_ctrl_c_on_the_readme_run_command_stops_the_service_and_its_database(
    serve_env: dict[str, str], whole_group: bool
) -> None:
    port = free_port()
    pgdata = Path(serve_env["CONTACT_DESK_EMBEDDED_PG_DATA"])
    command = [sys.executable, "tasks.py", "run", "--port", str(port)]
    # A session of its own, as a terminal gives the command a process group of its own.
    tasks = subprocess.Popen(command, cwd=ROOT, env=serve_env, start_new_session=True)  # noqa: S603
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", tasks)
        if whole_group:
            os.killpg(tasks.pid, signal.SIGINT)  # what Ctrl-C does
        else:
            tasks.send_signal(signal.SIGINT)
        assert tasks.wait(timeout=90) == 0
        assert not (pgdata / "postmaster.pid").exists()
    finally:
        if tasks.poll() is None:
            os.killpg(tasks.pid, signal.SIGKILL)
            tasks.wait()
