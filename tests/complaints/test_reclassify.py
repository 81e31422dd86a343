"""Reclassifying a complaint: the cause and product line it is counted under change, nothing
else does; the timeline keeps both classifications; an ended complaint needs a supervisor."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.access.helpers import assert_problem
from tests.complaints.helpers import act, register
from tests.conftest import Actor, add_actor, add_branch

TO_CLAIMS_DISPUTE = {"reason": "来电录音核实为理赔纠纷", "cause_code": "claims_dispute"}


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


async def _last_event(client: AsyncClient, who: Actor, complaint_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/complaints/{complaint_id}/timeline", headers=who.headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["items"][-1])


async def _actions(client: AsyncClient, who: Actor, complaint_id: str) -> list[str]:
    response = await client.get(f"/v1/complaints/{complaint_id}/actions", headers=who.headers)
    assert response.status_code == 200, response.text
    return [item["action"] for item in response.json()]


async def test_the_cause_changes_and_the_state_and_clocks_do_not(
    client: AsyncClient, agent: Actor
) -> None:
    created = (await register(client, agent.headers, cause_code="other")).json()
    assert "reclassify" in await _actions(client, agent, created["id"])

    response = await act(client, agent.headers, created, "reclassify", TO_CLAIMS_DISPUTE)

    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["cause_code"], after["product_line"]) == ("claims_dispute", "life")
    assert after["version"] == created["version"] + 1
    assert (after["status"], after["clocks"]) == (created["status"], created["clocks"])
    found = await client.get(
        "/v1/complaints", params={"cause_code": "claims_dispute"}, headers=agent.headers
    )
    assert [item["id"] for item in found.json()["items"]] == [created["id"]]
    event = await _last_event(client, agent, created["id"])
    assert (event["action"], event["reason"]) == ("reclassify", TO_CLAIMS_DISPUTE["reason"])
    assert event["data"] == {
        "changed": {"cause_code": {"from": "other", "to": "claims_dispute"}},
        "classification": {
            "before": {"cause": "other", "product_line": "life"},
            "after": {"cause": "claims_dispute", "product_line": "life"},
        },
    }


async def test_both_at_once_and_only_what_differs_is_recorded(
    client: AsyncClient, agent: Actor
) -> None:
    created = (await register(client, agent.headers)).json()
    body = {"reason": "保单为车险", "cause_code": "mis_selling", "product_line": "motor"}

    response = await act(client, agent.headers, created, "reclassify", body)

    assert response.status_code == 200, response.text
    event = await _last_event(client, agent, created["id"])
    assert event["data"]["changed"] == {"product_line": {"from": "life", "to": "motor"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "无变化", "cause_code": "mis_selling"}, None),  # already so
        ({"reason": "笔误", "cause_code": "no_such_cause"}, "cause_code"),
        ({"reason": "笔误", "product_line": "spaceflight"}, "product_line"),
        ({"reason": "什么也没给"}, None),
        ({"cause_code": "claims_dispute"}, "reason"),
    ],
)
async def test_a_reclassification_that_changes_nothing_or_is_invalid_is_422(
    client: AsyncClient, agent: Actor, body: dict[str, Any], field: str | None
) -> None:
    created = (await register(client, agent.headers)).json()

    problem = assert_problem(await act(client, agent.headers, created, "reclassify", body), 422)

    if field is not None:
        assert field in str(problem), problem
    unchanged = await client.get(f"/v1/complaints/{created['id']}", headers=agent.headers)
    assert unchanged.json()["version"] == created["version"]


async def test_an_ended_complaint_is_reclassified_by_a_supervisor_only(
    client: AsyncClient, app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    branch = await add_branch(session_factory)
    agent = await add_actor(app, session_factory, role="agent", branch=branch)
    supervisor = await add_actor(app, session_factory, role="supervisor", branch=branch)
    created = (await register(client, agent.headers)).json()
    withdrawn = await act(client, agent.headers, created, "withdraw", {"reason": "客户撤诉"})
    assert withdrawn.status_code == 200, withdrawn.text

    refused = await act(client, agent.headers, withdrawn.json(), "reclassify", TO_CLAIMS_DISPUTE)

    assert_problem(refused, 403)
    assert "reclassify" not in await _actions(client, agent, created["id"])
    assert "reclassify" in await _actions(client, supervisor, created["id"])
    done = await act(client, supervisor.headers, withdrawn.json(), "reclassify", TO_CLAIMS_DISPUTE)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["cause_code"]) == ("withdrawn", "claims_dispute")


async def test_a_stale_version_is_412(client: AsyncClient, agent: Actor) -> None:
    created = (await register(client, agent.headers)).json()
    stale = await act(client, agent.headers, created, "reclassify", TO_CLAIMS_DISPUTE, etag='"v0"')
    assert_problem(stale, 412)
