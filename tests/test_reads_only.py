"""Endpoints marked ``reads_only`` run their statements without BEGIN/COMMIT (two round trips
fewer on the IVR's lookup); every other endpoint keeps one transaction for all its statements.
Observable through ``now()``, which is the start of the current transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import SessionDep
from app.api.routing import TransactionalRoute, reads_only
from app.core.config import Settings
from app.db.session import Database, make_session_factory

_TWO_CLOCK_READINGS = (
    "SELECT now()::text",
    "SELECT now()::text FROM pg_sleep(0.02)",
)


def _app(engine: AsyncEngine, settings: Settings) -> FastAPI:
    router = APIRouter(route_class=TransactionalRoute)

    async def readings(session: SessionDep) -> list[str]:
        return [str(await session.scalar(text(sql))) for sql in _TWO_CLOCK_READINGS]

    async def readings_alone(session: SessionDep) -> list[str]:
        return await readings(session)

    router.get("/in-a-transaction")(readings)
    router.get("/reads-only")(reads_only(readings_alone))
    app = FastAPI()
    app.include_router(router)
    app.state.settings = settings
    app.state.db = Database(engine=engine, session_factory=make_session_factory(engine))
    return app


@pytest.fixture
async def client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=_app(engine, settings))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_an_ordinary_endpoint_reads_in_one_transaction(client: AsyncClient) -> None:
    first, second = (await client.get("/in-a-transaction")).json()
    assert first == second


async def test_a_reads_only_endpoint_runs_each_statement_on_its_own(client: AsyncClient) -> None:
    first, second = (await client.get("/reads-only")).json()
    assert first < second
