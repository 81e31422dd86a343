"""Caller lookup: one caller whatever the phone format, masked, scoped, deadlines in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import frozen_at
from app.org.models import Branch
from tests.complaints.helpers import register as register_complaint
from tests.conftest import Actor, add_actor, add_branch
from tests.intake.helpers import PHONE, PHONE_FORMATS, api_key, hq_branch, post_call

pytestmark = pytest.mark.usefixtures("client")

NOW = datetime(2026, 11, 20, 1, 5, tzinfo=UTC)


@pytest.fixture
async def branch(session_factory: async_sessionmaker[AsyncSession]) -> Branch:
    return await add_branch(session_factory)


@pytest.fixture
async def agent(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], branch: Branch
) -> Actor:
    return await add_actor(app, session_factory, role="agent", branch=branch)


@pytest.fixture
async def ivr(client: AsyncClient, admin: Actor, branch: Branch) -> dict[str, str]:
    return await api_key(client, admin.headers, branch_id=branch.id)


async def _caller_with_three_tickets(
    client: AsyncClient, ivr: dict[str, str], agent: Actor
) -> dict[str, str]:
    with frozen_at(NOW):
        inquiry = (await post_call(client, ivr, intent="inquiry")).json()["ticket"]
        report = (await post_call(client, ivr, intent="claim_report")).json()["ticket"]
        complaint = (await register_complaint(client, agent.headers)).json()
    return {
        "inquiry": inquiry["number"],
        "claim": report["number"],
        "complaint": complaint["number"],
    }


@pytest.mark.parametrize("phone", PHONE_FORMATS)
async def test_every_phone_format_finds_the_same_caller(
    client: AsyncClient, ivr: dict[str, str], agent: Actor, phone: str
) -> None:
    numbers = await _caller_with_three_tickets(client, ivr, agent)
    with frozen_at(NOW):
        found = await client.get(f"/v1/ivr/callers/{phone}", headers=ivr)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["phone"] == "138****8000"
    assert {i["number"] for i in body["items"]} == set(numbers.values())
    by_kind = {i["kind"]: i for i in body["items"]}
    assert by_kind["inquiry"]["status_text"] == "等待答复"
    assert by_kind["inquiry"]["next_due"]["due_date"] == "2026-11-23"
    assert by_kind["inquiry"]["next_due"]["text"] == "将于2026年11月23日前答复"
    assert by_kind["claim_report"]["next_due"] is None
    assert by_kind["complaint"]["status_text"] == "已登记"
    assert body["speech"].startswith("您有3件正在办理的事项。")
    assert PHONE not in found.text


@pytest.mark.parametrize("phone", ["12345", "abc", "+86 138 0013"])
async def test_an_invalid_number_is_422_naming_the_field(
    client: AsyncClient, ivr: dict[str, str], phone: str
) -> None:
    response = await client.get(f"/v1/ivr/callers/{phone}", headers=ivr)
    assert response.status_code == 422
    assert response.json()["field"] == "phone"


async def test_an_unknown_caller_has_nothing_open(client: AsyncClient, ivr: dict[str, str]) -> None:
    body = (await client.get("/v1/ivr/callers/13912345678", headers=ivr)).json()
    assert body["customer_id"] is None
    assert body["items"] == []
    assert body["speech"] == "您目前没有正在办理的事项。"


async def test_overdue_deadlines_say_so(
    client: AsyncClient, ivr: dict[str, str], agent: Actor
) -> None:
    with frozen_at(NOW):
        await post_call(client, ivr, intent="inquiry")
    with frozen_at(datetime(2026, 11, 25, 2, 0, tzinfo=UTC)):
        body = (await client.get(f"/v1/ivr/callers/{PHONE}", headers=agent.headers)).json()
    due = body["items"][0]["next_due"]
    assert due["overdue"] is True
    assert due["text"] == "应于2026年11月23日前答复，已逾期，我们将尽快处理"


async def test_agents_see_their_branch_and_an_unbound_ivr_key_sees_all(
    client: AsyncClient,
    app: FastAPI,
    admin: Actor,
    ivr: dict[str, str],
    agent: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    with frozen_at(NOW):
        mine = (await post_call(client, ivr, intent="inquiry")).json()["ticket"]["number"]
    stranger = await add_actor(app, session_factory, role="agent")
    await hq_branch(session_factory)
    unbound = await api_key(client, admin.headers)
    url = f"/v1/ivr/callers/{PHONE}"
    with frozen_at(NOW):
        seen_by_agent = (await client.get(url, headers=agent.headers)).json()["items"]
        seen_by_stranger = (await client.get(url, headers=stranger.headers)).json()["items"]
        seen_by_unbound = (await client.get(url, headers=unbound)).json()["items"]
    assert [i["number"] for i in seen_by_agent] == [mine]
    assert seen_by_stranger == []
    assert [i["number"] for i in seen_by_unbound] == [mine]


async def test_lookup_by_policy_number(
    client: AsyncClient, ivr: dict[str, str], agent: Actor, admin: Actor, branch: Branch
) -> None:
    created = await client.post(
        "/v1/policies",
        json={"number": "P-2026-5566", "product_line": "health", "branch_id": str(branch.id)},
        headers=admin.headers,
    )
    assert created.status_code == 201
    with frozen_at(NOW):
        report = (
            await post_call(client, ivr, intent="claim_report", policy_number="P-2026-5566")
        ).json()["ticket"]
        found = await client.get("/v1/ivr/policies/P-2026-5566", headers=ivr)
        unknown = await client.get("/v1/ivr/policies/P-NOPE-0000", headers=ivr)
    assert found.status_code == 200
    assert found.json()["product_line"] == "health"
    assert [i["number"] for i in found.json()["items"]] == [report["number"]]
    assert unknown.status_code == 404


async def test_lookup_needs_the_permission(
    client: AsyncClient, admin: Actor, app: FastAPI, session_factory: object
) -> None:
    inspector = await add_actor(app, session_factory, role="quality_inspector")  # type: ignore[arg-type]
    integration = await api_key(client, admin.headers, role="integration")
    for headers in (inspector.headers, integration):
        response = await client.get(f"/v1/ivr/callers/{PHONE}", headers=headers)
        assert response.status_code == 403


async def test_a_call_back_request_is_among_the_callers_open_items_until_it_ends(
    client: AsyncClient, ivr: dict[str, str], agent: Actor, app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    with frozen_at(NOW):  # 09:05 in Beijing: due by 13:05, the rule set's 4 hours
        requested = (await post_call(client, ivr, intent="callback_request")).json()["ticket"]
        found = (await client.get(f"/v1/ivr/callers/{PHONE}", headers=ivr)).json()
        status = (await post_call(client, ivr, intent="status_query")).json()
    [item] = found["items"]
    assert (item["kind"], item["number"]) == ("callback", requested["number"])
    assert (item["status"], item["status_text"]) == ("scheduled", "已安排回电")
    assert item["next_due"]["clock"] == "ivr_callback_request"
    assert item["next_due"]["text"] == "将于2026年11月20日前给您回电"
    assert found["speech"] == (
        f"您有1件正在办理的事项。回电{requested['number']}，已安排回电，"
        "将于2026年11月20日前给您回电。"
    )
    assert [i["number"] for i in status["open_items"]] == [requested["number"]]
    # An agent of the branch sees it on the screen pop; another branch's agent does not.
    mine = await client.get(f"/v1/ivr/callers/{PHONE}", headers=agent.headers)
    assert [i["number"] for i in mine.json()["items"]] == [requested["number"]]
    stranger = await add_actor(app, session_factory, role="agent")
    theirs = await client.get(f"/v1/ivr/callers/{PHONE}", headers=stranger.headers)
    assert theirs.json()["items"] == []

    callback = (await client.get(f"/v1/callbacks/{requested['id']}", headers=agent.headers)).json()
    cancelled = await client.post(
        f"/v1/callbacks/{requested['id']}/cancel",
        json={"reason": "客户已来电办结"},
        headers={**agent.headers, "If-Match": f'"v{callback["version"]}"'},
    )
    assert cancelled.status_code == 200, cancelled.text
    after = (await client.get(f"/v1/ivr/callers/{PHONE}", headers=ivr)).json()
    assert after["items"] == []
    assert after["speech"] == "您目前没有正在办理的事项。"
