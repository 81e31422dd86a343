"""Correcting a complaint's details: contact data fixed where it was wrong, the state and the
clocks left alone, both values kept (masked) in the timeline."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.access.helpers import assert_problem
from tests.complaints.helpers import PHONE, act, register
from tests.conftest import Actor, add_actor

NEW_PHONE = "139 1234 5678"


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


async def _found_by_phone(client: AsyncClient, agent: Actor, phone: str) -> list[str]:
    response = await client.get("/v1/complaints", params={"phone": phone}, headers=agent.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _timeline(client: AsyncClient, agent: Actor, complaint_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/complaints/{complaint_id}/timeline", headers=agent.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_mistyped_phone_is_replaced_and_the_complaint_found_by_the_right_one(
    client: AsyncClient, agent: Actor
) -> None:
    created = (await register(client, agent.headers)).json()
    body = {"reason": "号码录错", "phones": [NEW_PHONE], "complainant_name": "张三峰"}
    corrected = await act(client, agent.headers, created, "correct-details", body)
    assert corrected.status_code == 200, corrected.text
    after = corrected.json()
    assert corrected.headers["etag"] == f'"v{created["version"] + 1}"'
    assert after["status"] == created["status"] == "registered"
    assert after["clocks"] == created["clocks"]
    assert after["complainant"]["phones"] == ["139****5678"]

    assert await _found_by_phone(client, agent, "+86 139-1234-5678") == [created["id"]]
    assert await _found_by_phone(client, agent, PHONE) == []

    event = (await _timeline(client, agent, created["id"]))[-1]
    assert (event["action"], event["reason"]) == ("correct-details", "号码录错")
    assert (event["from_status"], event["to_status"]) == ("registered", "registered")
    assert event["data"]["changed"] == {
        "phones": {"from": ["138****8000"], "to": ["139****5678"]},
        "complainant_name": {"from": "张**", "to": "张**"},
    }
    assert "13800138000" not in str(event)
    assert "13912345678" not in str(event)


async def test_optional_details_are_replaced_or_cleared_and_only_changes_are_recorded(
    client: AsyncClient, agent: Actor
) -> None:
    created = (await register(client, agent.headers)).json()
    body = {
        "reason": "客户更正",
        "policy_number": "P-2026-000999",
        "remedy_requested": None,
        "id_number": None,
        "relation": "policyholder",  # unchanged: not recorded
    }
    corrected = await act(client, agent.headers, created, "correct-details", body)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["policy_number"] == "P-2026-000999"
    assert corrected.json()["remedy_requested"] is None
    assert corrected.json()["complainant"]["id_number"] is None
    changed = (await _timeline(client, agent, created["id"]))[-1]["data"]["changed"]
    assert set(changed) == {"policy_number", "remedy_requested", "id_number"}
    assert changed["id_number"]["to"] is None
    assert changed["id_number"]["from"] == "1" + "*" * 16 + "4"


async def test_an_authorised_agent_needs_an_authorisation_reference(
    client: AsyncClient, agent: Actor
) -> None:
    created = (await register(client, agent.headers)).json()
    refused = await act(
        client, agent.headers, created, "correct-details",
        {"reason": "代理人来电", "relation": "authorised_agent"},
    )  # fmt: skip
    assert assert_problem(refused, 422)["field"] == "authorisation_ref"
    accepted = await act(
        client, agent.headers, created, "correct-details",
        {"reason": "代理人来电", "relation": "authorised_agent", "authorisation_ref": "委托书-01"},
    )  # fmt: skip
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "没有改动"},
        {"reason": "清空姓名", "complainant_name": None},
        {"reason": "清空电话", "phones": None},
        {"reason": "坏号码", "phones": ["12345"]},
        {"reason": "一样", "policy_number": "P-2026-000123"},  # what it already is
    ],
)
async def test_nothing_to_correct_or_a_bad_value_is_422_and_changes_nothing(
    client: AsyncClient, agent: Actor, body: dict[str, Any]
) -> None:
    created = (await register(client, agent.headers)).json()
    assert_problem(await act(client, agent.headers, created, "correct-details", body), 422)
    now = await client.get(f"/v1/complaints/{created['id']}", headers=agent.headers)
    assert now.json()["version"] == created["version"]


async def test_a_stale_version_is_412_and_an_ended_complaint_409(
    client: AsyncClient, agent: Actor
) -> None:
    created = (await register(client, agent.headers)).json()
    body = {"reason": "号码录错", "phones": [NEW_PHONE]}
    stale = await act(client, agent.headers, created, "correct-details", body, etag='"v0"')
    assert_problem(stale, 412)
    withdrawn = await act(client, agent.headers, created, "withdraw", {"reason": "撤诉"})
    assert withdrawn.status_code == 200, withdrawn.text
    ended = await act(client, agent.headers, withdrawn.json(), "correct-details", body)
    assert_problem(ended, 409)
    actions = await client.get(f"/v1/complaints/{created['id']}/actions", headers=agent.headers)
    assert "correct-details" not in [a["action"] for a in actions.json()]
