"""Many agents on one queue at once, with real concurrent sessions that really commit: each
callback is held by exactly one agent (FOR UPDATE SKIP LOCKED settles it in the database).

The app here has its own bounded connection pool (40): the embedded test server accepts 100
connections, and 100 requests at once would otherwise ask for 100 of them. Requests beyond 40
wait for a connection, as they would in a deployed service; the race on the rows is unchanged.
``committed_db`` empties the tables afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.core.config import Settings
from app.db import direct
from app.db.session import create_engine_from_settings, make_session_factory
from tests.callbacks.helpers import act, at_local, claim, local, no_answer
from tests.conftest import Actor, add_actor, add_branch, build_app

NOW = "2026-03-10T10:00"  # a Tuesday morning: satisfaction callbacks are callable
INSERT_CALLBACKS = text(
    """
    INSERT INTO callbacks (id, number, kind, state, origin, branch_id, customer_name,
        policy_number, not_before, due_at, priority, next_attempt_at, created_by,
        created_at, updated_at)
    SELECT gen_random_uuid(), 'HFRACE' || lpad(g::text, 8, '0'), 'satisfaction', 'scheduled',
        'manual', :branch, '客户' || g, 'P-RACE-' || g, p.now - interval '1 hour',
        p.now + (g % 97) * interval '1 hour', 1 + g % 5, p.now - interval '1 hour', 'test',
        p.now, p.now
    FROM (SELECT CAST(:now AS timestamptz) AS now) AS p,
         generate_series(1, CAST(:count AS integer)) AS g
    """
)


@pytest.fixture
async def race_app(
    settings: Settings, database_url: str, committed_db: FastAPI
) -> AsyncIterator[FastAPI]:
    bounded = settings.model_copy(
        update={"db_pool_size": 40, "db_max_overflow": 0, "db_pool_timeout_seconds": 120}
    )
    engine = create_engine_from_settings(bounded, database_url)
    yield build_app(bounded, engine, make_session_factory(engine))
    await direct.dispose(engine)


async def _setup(app: FastAPI, *, agents: int, callbacks: int, now: dt.datetime) -> list[Actor]:
    factory = app.state.db.session_factory
    branch = await add_branch(factory)
    async with factory() as session:
        await session.execute(
            INSERT_CALLBACKS, {"branch": branch.id, "now": now, "count": callbacks}
        )
        await session.commit()
    return [await add_actor(app, factory, branch=branch) for _ in range(agents)]


async def _work_until_empty(client: AsyncClient, agent: Actor) -> list[str]:
    """Claim, record a no-answer attempt (rescheduled 2 hours later), again until 204."""
    claimed: list[str] = []
    while True:
        held = await claim(client, agent.headers)
        if held.status_code == 204:
            return claimed
        assert held.status_code == 200, held.text
        body = held.json()
        assert body["assignee_id"] == str(agent.id)
        claimed.append(body["id"])
        done = await act(client, agent.headers, body, "attempts", no_answer())
        assert done.status_code == 200, done.text


async def test_100_agents_on_1000_callbacks_each_held_by_exactly_one(race_app: FastAPI) -> None:
    # Tokens are issued at the real time, before the clock is frozen.
    agents = await _setup(race_app, agents=100, callbacks=1000, now=local(NOW))
    with at_local(NOW):
        transport = ASGITransport(app=race_app)
        async with AsyncClient(transport=transport, base_url="http://race") as client:
            per_agent = await asyncio.gather(*(_work_until_empty(client, a) for a in agents))
    claimed = [callback for mine in per_agent for callback in mine]
    assert len(claimed) == 1000
    assert len(set(claimed)) == 1000  # nobody got a callback another agent held
    first_wave = [mine[0] for mine in per_agent if mine]
    assert len(first_wave) == len(set(first_wave)) == 100
    holder = {callback: agents[i].id for i, mine in enumerate(per_agent) for callback in mine}
    async with race_app.state.db.session_factory() as session:
        attempts = (
            await session.execute(text("SELECT callback_id, agent_id FROM callback_attempts"))
        ).all()
        states = Counter((await session.scalars(text("SELECT state FROM callbacks"))).all())
        claims = Counter(
            (
                await session.scalars(
                    text("SELECT ticket_id FROM ticket_events WHERE action = 'claim'")
                )
            ).all()
        )
    assert len(attempts) == 1000
    assert all(holder[str(callback)] == agent for callback, agent in attempts)
    assert states == {"rescheduled": 1000}
    assert set(claims.values()) == {1}


async def test_fifty_agents_racing_for_ten_callbacks(race_app: FastAPI) -> None:
    agents = await _setup(race_app, agents=50, callbacks=10, now=local(NOW))
    with at_local(NOW):
        transport = ASGITransport(app=race_app)
        async with AsyncClient(transport=transport, base_url="http://race") as client:
            responses = await asyncio.gather(*(claim(client, a.headers) for a in agents))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 10, 204: 40}
    won = [uuid.UUID(r.json()["id"]) for r in responses if r.status_code == 200]
    assert len(set(won)) == 10
