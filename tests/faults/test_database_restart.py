"""PostgreSQL restarted in the middle of a series of idempotent requests (the short, in-suite
cousin of ``scripts/faults.py``).

The app runs on its own embedded server (module scope), so stopping it leaves the shared test
server alone; its requests really commit. While the database is down every answer is a 503
problem with ``Retry-After``, never a 500; afterwards, retries with the same keys and call ids
make exactly one record each, and nothing acknowledged before the outage is lost.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from app.core.config import Environment, Settings
from app.db import migrate
from app.db.embedded import EmbeddedPostgres, start_embedded
from app.db.session import create_database
from app.main import create_app
from tests.complaints.helpers import SMS_SENT, complaint_payload
from tests.conftest import add_actor
from tests.intake.helpers import api_key, call_payload, hq_branch

PROBLEM = "application/problem+json"


@dataclass
class Rig:
    server: EmbeddedPostgres
    client: AsyncClient
    agent: dict[str, str]
    ivr: dict[str, str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/contact_desk?host={self.server.socket_dir}"


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    server = start_embedded(Path(tmp_path_factory.mktemp("faults")) / "pg")
    settings = Settings(
        environment=Environment.TEST, database_url=server.url(), retry_after_seconds=1
    )
    db = create_database(settings, server.url())
    await migrate.upgrade(db.engine)
    app: FastAPI = create_app(settings, run_lifespan=False)
    app.state.db = db
    await hq_branch(db.session_factory)  # where IVR tickets go
    admin = await add_actor(app, db.session_factory, role="admin")
    agent = await add_actor(app, db.session_factory, role="agent")
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with AsyncClient(transport=transport, base_url="http://faults") as client:
            ivr = await api_key(client, admin.headers)
            yield Rig(server, client, agent.headers, ivr)
    finally:
        await db.dispose()
        if server.is_running():
            server.pg_ctl("-w", "stop", "-m", "fast")
        server.stop()


def register(rig: Rig, key: str) -> Any:
    headers = {**rig.agent, "Idempotency-Key": key}
    return rig.client.post("/v1/complaints", json=complaint_payload(), headers=headers)


def ivr_call(rig: Rig, call: dict[str, Any]) -> Any:
    return rig.client.post("/v1/ivr/calls", json=call, headers=rig.ivr)


def request_materials(rig: Rig, complaint: dict[str, Any], key: str) -> Any:
    headers = {**rig.agent, "Idempotency-Key": key, "If-Match": f'"v{complaint["version"]}"'}
    body = {"missing": ["保单复印件"], "notice": SMS_SENT}
    return rig.client.post(
        f"/v1/complaints/{complaint['id']}/request-materials", json=body, headers=headers
    )


def assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def until_answered(send: Any) -> Response:
    """Retry the same request while the answer is 503, as a client honouring Retry-After."""
    for _ in range(100):
        response: Response = await send()
        if response.status_code != 503:
            return response
        assert_unavailable(response)
        await asyncio.sleep(0.1)
    raise AssertionError("still 503 after the database came back")


async def count(rig: Rig, query: str, *args: Any) -> int:
    connection = await asyncpg.connect(rig.dsn)
    try:
        return int(await connection.fetchval(query, *args))
    finally:
        await connection.close()


async def test_an_outage_is_503_and_retries_after_it_make_one_record_each(rig: Rig) -> None:
    run = uuid.uuid4().hex[:8]
    keys = [f"outage-{run}-{i}" for i in range(4)]
    calls = [call_payload(call_id=f"outage-{run}-{i}") for i in range(4)]
    # Before the outage: half the series is acknowledged, and one complaint moved on.
    acked = [await register(rig, key) for key in keys[:2]]
    acked_calls = [await ivr_call(rig, call) for call in calls[:2]]
    assert [r.status_code for r in acked + acked_calls] == [201] * 4
    moved = await request_materials(rig, acked[0].json(), f"{keys[0]}-rm")
    assert moved.status_code == 200, moved.text

    rig.server.pg_ctl("-w", "stop", "-m", "fast")
    try:
        during = [await register(rig, key) for key in keys]  # retries and new ones alike
        during += [await ivr_call(rig, call) for call in calls]
        during.append(await request_materials(rig, acked[0].json(), f"{keys[0]}-rm"))
        during.append(await rig.client.get("/v1/complaints", headers=rig.agent))
        for response in during:
            assert_unavailable(response)
    finally:
        rig.server.ensure_running()

    registered = [await until_answered(lambda k=key: register(rig, k)) for key in keys]
    reported = [await until_answered(lambda c=call: ivr_call(rig, c)) for call in calls]
    replayed_move = await until_answered(
        lambda: request_materials(rig, acked[0].json(), f"{keys[0]}-rm")
    )

    assert [r.status_code for r in registered + reported] == [201] * 8
    assert [r.json()["id"] for r in registered[:2]] == [r.json()["id"] for r in acked]
    replayed = [r.headers.get("idempotent-replayed") for r in registered]
    assert replayed == ["true", "true", None, None]
    assert [r.json()["ticket"]["id"] for r in reported[:2]] == [
        r.json()["ticket"]["id"] for r in acked_calls
    ]
    assert (replayed_move.status_code, replayed_move.json()) == (200, moved.json())
    ids = [r.json()["id"] for r in registered]
    assert await count(rig, "SELECT count(*) FROM complaints WHERE id::text = ANY($1)", ids) == 4
    call_ids = [c["call_id"] for c in calls]
    linked = "SELECT count(DISTINCT ticket_id) FROM ivr_calls WHERE call_id = ANY($1)"
    assert await count(rig, linked, call_ids) == 4
    moves = "SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND action = $2"
    assert await count(rig, moves, uuid.UUID(ids[0]), "request-materials") == 1


async def test_a_restart_under_concurrent_retrying_clients_loses_and_duplicates_nothing(
    rig: Rig,
) -> None:
    run = uuid.uuid4().hex[:8]
    answers: list[Response] = []
    acknowledged: dict[str, str] = {}  # Idempotency-Key → complaint id

    restarted = asyncio.Event()

    async def client(n: int) -> None:
        # New keys until the restart is over, then a few more: some meet the outage.
        for i in itertools.count():
            if restarted.is_set() and i >= 12:
                return
            key = f"restart-{run}-{n}-{i}"
            while True:
                response = await register(rig, key)
                answers.append(response)
                if response.status_code != 503:
                    break
                await asyncio.sleep(0.05)
            if response.status_code == 201:
                acknowledged[key] = response.json()["id"]

    async def restart() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(rig.server.pg_ctl, "-w", "restart", "-m", "fast")
        restarted.set()

    await asyncio.gather(restart(), *(client(n) for n in range(4)))

    statuses = sorted({r.status_code for r in answers})
    assert set(statuses) <= {201, 503}, [r.text for r in answers if r.status_code not in {201, 503}]
    unavailable = [r for r in answers if r.status_code == 503]
    assert unavailable, "no request met the restart"
    for response in unavailable:
        assert_unavailable(response)
    sent = {str(r.request.headers["idempotency-key"]) for r in answers}
    assert set(acknowledged) == sent  # every key answered in the end
    ids = list(acknowledged.values())
    stored = "SELECT count(*) FROM complaints WHERE id::text = ANY($1)"
    assert await count(rig, stored, ids) == len(sent)
    per_key = """SELECT count(*) FROM complaints c WHERE NOT EXISTS
                 (SELECT 1 FROM idempotency_keys k WHERE k.response_body->>'id' = c.id::text)"""
    assert await count(rig, per_key) == 0  # no complaint outside its key's one answer
