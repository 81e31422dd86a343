"""The callback success rate (回访成功率): reached / due and on time, per kind, agent and team,
over a period of local due dates (both ends included); cancelled callbacks are not counted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.models import Team
from app.org.models import Branch
from tests.callbacks.helpers import act, at_local, claim, reached, schedule
from tests.conftest import Actor, add_actor

pytestmark = pytest.mark.usefixtures("client")

PERIOD = {"from": "2026-03-10", "to": "2026-03-12"}


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


@pytest.fixture
async def supervisor(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], agent: Actor
) -> Actor:
    async with session_factory() as session:
        branch = await session.get_one(Branch, agent.user.branch_id)
    return await add_actor(app, session_factory, role="supervisor", branch=branch)


@pytest.fixture
async def team(session_factory: async_sessionmaker[AsyncSession], agent: Actor) -> uuid.UUID:
    async with session_factory() as session:
        row = Team(id=uuid.uuid4(), branch_id=agent.user.branch_id, code="HF1", name="回访一组")
        session.add(row)
        await session.commit()
        return row.id


async def _work(client: AsyncClient, agent: Actor, kind: str, body: dict[str, Any]) -> None:
    held = await claim(client, agent.headers, kind=kind)
    assert held.status_code == 200, held.text
    done = await act(client, agent.headers, held.json(), "attempts", body)
    assert done.status_code == 200, done.text


def _due(day: str) -> str:
    return f"{day}+08:00"


async def _populate(client: AsyncClient, agent: Actor, team: uuid.UUID) -> None:
    h = agent.headers
    with at_local("2026-03-10T09:00"):
        # In the period: A reached on time, B reached late, D refused, C unreachable, F open.
        await schedule(client, h, due_at=_due("2026-03-11T00:00:00"))  # A: 24:00 on the 10th
        await schedule(
            client, h, due_at=_due("2026-03-12T00:00:00"), not_before=_due("2026-03-11T23:00:00")
        )  # B
        await schedule(client, h, due_at=_due("2026-03-12T12:00:00"))  # D
        await schedule(client, h, kind="ivr_request", due_at=_due("2026-03-13T00:00:00"))  # C
        await schedule(
            client, h, kind="new_policy", team_id=str(team), due_at=_due("2026-03-11T12:00:00")
        )  # F
        cancelled = await schedule(client, h, due_at=_due("2026-03-11T00:00:00"))  # E
        await act(client, h, cancelled, "cancel", {"reason": "重复"})
        # Outside the period: 24:00 on the 9th, and just after 24:00 on the 12th.
        await schedule(
            client,
            h,
            kind="risk_service",
            not_before=_due("2026-03-09T09:00:00"),
            due_at=_due("2026-03-10T00:00:00"),
        )
        await schedule(client, h, kind="risk_service", due_at=_due("2026-03-13T00:00:01"))
    with at_local("2026-03-10T10:00"):
        await _work(client, agent, "satisfaction", reached(satisfaction=4))  # A
        await _work(client, agent, "satisfaction", {"method": "phone", "outcome": "refused"})  # D
        await _work(client, agent, "ivr_request", {"method": "phone", "outcome": "wrong_number"})
    with at_local("2026-03-12T10:00"):
        await _work(client, agent, "satisfaction", reached(satisfaction=3))  # B, late


def _counts(row: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("due", "reached", "refused", "unreachable", "open", "completed_on_time")
    return (*(row[k] for k in keys), row["success_rate"], row["on_time_rate"])


async def test_success_rate_per_kind_agent_and_team(
    client: AsyncClient, agent: Actor, supervisor: Actor, team: uuid.UUID
) -> None:
    await _populate(client, agent, team)
    url = "/v1/callbacks/success-rate"
    by_kind = (await client.get(url, params=PERIOD, headers=supervisor.headers)).json()
    rows = {r["group"]: _counts(r) for r in by_kind["rows"]}
    assert rows == {
        "ivr_request": (1, 0, 0, 1, 0, 0, 0.0, 0.0),
        "new_policy": (1, 0, 0, 0, 1, 0, 0.0, 0.0),
        "satisfaction": (3, 2, 1, 0, 0, 1, 0.6667, 0.3333),
    }
    assert _counts(by_kind["total"]) == (5, 2, 1, 1, 1, 1, 0.4, 0.2)

    by_agent = await client.get(
        url, params={**PERIOD, "group_by": "agent"}, headers=supervisor.headers
    )
    assert {r["group"]: r["due"] for r in by_agent.json()["rows"]} == {str(agent.id): 4, None: 1}
    by_team = await client.get(
        url, params={**PERIOD, "group_by": "team"}, headers=supervisor.headers
    )
    assert {r["group"]: r["due"] for r in by_team.json()["rows"]} == {str(team): 1, None: 4}


async def test_an_empty_period_has_no_rate_and_agents_may_not_read_reports(
    client: AsyncClient, agent: Actor, supervisor: Actor
) -> None:
    url = "/v1/callbacks/success-rate"
    empty = await client.get(
        url, params={"from": "2020-01-01", "to": "2020-01-31"}, headers=supervisor.headers
    )
    assert empty.json()["rows"] == []
    assert empty.json()["total"]["due"] == 0
    assert empty.json()["total"]["success_rate"] is None
    assert (await client.get(url, params=PERIOD, headers=agent.headers)).status_code == 403
    backwards = await client.get(
        url, params={"from": "2026-03-12", "to": "2026-03-10"}, headers=supervisor.headers
    )
    assert backwards.status_code == 422
