"""Races on branches, with real concurrent sessions that really commit."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select

from app.org.models import Branch
from tests.conftest import add_actor, unique_code


async def create(client: AsyncClient, code: str, **headers: str) -> Response:
    return await client.post("/v1/branches", json={"code": code, "name": "x"}, headers=headers)


async def _client(app: FastAPI) -> AsyncClient:
    actor = await add_actor(app, app.state.db.session_factory, role="admin")
    return AsyncClient(
        transport=ASGITransport(app=app), base_url="http://race", headers=actor.headers
    )


async def test_concurrent_retries_with_one_key_create_one_branch(committed_db: FastAPI) -> None:
    code = unique_code()
    async with await _client(committed_db) as client:
        responses = await asyncio.gather(
            *(create(client, code, **{"Idempotency-Key": f"race-{code}"}) for _ in range(20))
        )
    statuses = [r.status_code for r in responses]
    assert statuses == [201] * 20
    assert len({r.json()["id"] for r in responses}) == 1
    async with committed_db.state.db.session_factory() as session:
        count = await session.scalar(select(func.count()).where(Branch.code == code))
    assert count == 1


async def test_concurrent_changes_on_one_version_have_one_winner(committed_db: FastAPI) -> None:
    async with await _client(committed_db) as client:
        branch = (await create(client, unique_code())).json()
        responses = await asyncio.gather(
            *(
                client.patch(
                    f"/v1/branches/{branch['id']}",
                    json={"name": f"name {n}"},
                    headers={"If-Match": '"v1"'},
                )
                for n in range(10)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 9
