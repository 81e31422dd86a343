"""Customers and policies: exact search, masking, identifying an IVR caller, conflicts."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.org.models import Branch
from tests.conftest import Actor, add_actor, add_branch
from tests.intake.helpers import PHONE, api_key, post_call

pytestmark = pytest.mark.usefixtures("client")

ID_NUMBER = "110101199003071234"


@pytest.fixture
async def branch(session_factory: async_sessionmaker[AsyncSession]) -> Branch:
    return await add_branch(session_factory)


@pytest.fixture
async def agent(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], branch: Branch
) -> Actor:
    return await add_actor(app, session_factory, role="agent", branch=branch)


async def test_an_ivr_caller_is_identified_by_an_agent(
    client: AsyncClient, agent: Actor, admin: Actor, branch: Branch
) -> None:
    ivr = await api_key(client, admin.headers, branch_id=branch.id)
    call = (await post_call(client, ivr)).json()
    found = await client.get(
        "/v1/customers", params={"phone": "+86 138-0013-8000"}, headers=agent.headers
    )
    assert found.status_code == 200
    [unknown] = found.json()
    assert unknown["id"] == call["customer_id"]
    assert unknown["name"] is None
    assert unknown["source"] == "ivr"
    assert unknown["phones"] == ["138****8000"]

    url = f"/v1/customers/{unknown['id']}"
    body = {"name": "王小明", "id_number": ID_NUMBER, "add_phones": ["010-6512 3456"]}
    stale = await client.patch(url, json=body, headers={**agent.headers, "If-Match": '"v7"'})
    assert stale.status_code == 412
    updated = await client.patch(url, json=body, headers={**agent.headers, "If-Match": '"v1"'})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "王**"
    assert updated.json()["id_number"] == "1****************4"
    assert sorted(updated.json()["phones"]) == ["********56", "138****8000"]
    by_id = await client.get(
        "/v1/customers", params={"id_number": ID_NUMBER}, headers=agent.headers
    )
    assert [c["id"] for c in by_id.json()] == [unknown["id"]]
    assert ID_NUMBER not in by_id.text
    assert PHONE not in by_id.text


async def test_a_phone_or_id_number_belongs_to_one_customer(
    client: AsyncClient, agent: Actor
) -> None:
    first = await client.post(
        "/v1/customers",
        json={"name": "李四", "id_number": ID_NUMBER, "phones": [PHONE]},
        headers=agent.headers,
    )
    assert first.status_code == 201, first.text
    same_phone = await client.post(
        "/v1/customers", json={"name": "李五", "phones": ["+8613800138000"]}, headers=agent.headers
    )
    assert same_phone.status_code == 409
    assert same_phone.json()["field"] == "phones[0]"
    same_id = await client.post(
        "/v1/customers", json={"name": "李六", "id_number": ID_NUMBER}, headers=agent.headers
    )
    assert same_id.status_code == 409
    assert same_id.json()["field"] == "id_number"
    bad = await client.post(
        "/v1/customers", json={"name": "李七", "phones": ["123"]}, headers=agent.headers
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "phones[0]"


async def test_policies_are_scoped_by_branch(
    client: AsyncClient,
    agent: Actor,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = await client.post(
        "/v1/policies",
        json={"number": "P-2026-9900", "product_line": "life"},
        headers=agent.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["branch_id"] == str(agent.user.branch_id)
    again = await client.post(
        "/v1/policies",
        json={"number": "P-2026-9900", "product_line": "life"},
        headers=agent.headers,
    )
    assert again.status_code == 409
    stranger = await add_actor(app, session_factory, role="agent")
    assert (await client.get("/v1/policies/P-2026-9900", headers=agent.headers)).status_code == 200
    assert (
        await client.get("/v1/policies/P-2026-9900", headers=stranger.headers)
    ).status_code == 404


async def test_a_policy_for_a_branch_that_does_not_exist_is_422(
    client: AsyncClient, admin: Actor
) -> None:
    """An admin may name any branch; an unknown one hit the foreign key and answered 500."""
    created = await client.post(
        "/v1/policies",
        json={
            "number": "P-2026-9901",
            "product_line": "life",
            "branch_id": "00000000-0000-4000-8000-000000000000",
        },
        headers=admin.headers,
    )
    assert created.status_code == 422, created.text
    assert created.json()["field"] == "branch_id"
