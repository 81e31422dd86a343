"""IVR intake: the right ticket per intent, once per call id, with an answer to read out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import frozen_at
from tests.conftest import Actor, add_actor, add_branch
from tests.intake.helpers import PHONE, api_key, call_payload, hq_branch, post_call

pytestmark = pytest.mark.usefixtures("client")

NOW = datetime(2026, 11, 20, 1, 5, tzinfo=UTC)  # Friday 09:05 in Beijing


@pytest.fixture
async def ivr(
    client: AsyncClient, admin: Actor, session_factory: async_sessionmaker[AsyncSession]
) -> dict[str, str]:
    await hq_branch(session_factory)
    return await api_key(client, admin.headers)


async def test_inquiry_is_pending_with_its_answer_date_read_out(
    client: AsyncClient, ivr: dict[str, str], admin: Actor
) -> None:
    with frozen_at(NOW):
        response = await post_call(client, ivr, intent="inquiry")
    body = response.json()
    assert body["outcome"] == "ticket_created"
    assert body["replayed"] is False
    assert "Idempotent-Replayed" not in response.headers
    ticket = body["ticket"]
    assert ticket["kind"] == "inquiry"
    assert ticket["number"].startswith("IQ20261120")
    assert ticket["status"] == "pending"
    assert ticket["due_date"] == "2026-11-23"  # 1 working day after Friday
    assert body["speech"] == (
        f"您的咨询已登记，咨询编号为{ticket['number']}。我们将在2026年11月23日前答复您。"
    )
    inquiry = (await client.get(f"/v1/inquiries/{ticket['id']}", headers=admin.headers)).json()
    assert inquiry["channel"] == "hotline"
    assert inquiry["customer_id"] == body["customer_id"]
    assert inquiry["clocks"][0]["name"] == "inquiry_answer"
    assert "现金价值" in inquiry["question"]


async def test_claim_report_gets_its_number_at_once(
    client: AsyncClient, ivr: dict[str, str], admin: Actor
) -> None:
    with frozen_at(NOW):
        body = (await post_call(client, ivr, intent="claim_report", menu_path="3")).json()
    ticket = body["ticket"]
    assert ticket["kind"] == "claim_report"
    assert ticket["number"].startswith("CR20261120")
    assert ticket["status"] == "reported"
    assert body["speech"].startswith(f"您的报案已受理，报案号为{ticket['number']}。")
    assert "30日内作出核定" in body["speech"]
    report = await client.get(f"/v1/claim-reports/{ticket['id']}", headers=admin.headers)
    assert report.json()["channel"] == "hotline"
    assert report.json()["clocks"] == []  # the statutory clocks wait for complete documents


async def test_complaint_goes_through_the_complaint_service(
    client: AsyncClient, ivr: dict[str, str], admin: Actor
) -> None:
    with frozen_at(NOW):
        body = (await post_call(client, ivr, intent="complaint", menu_path="9")).json()
    ticket = body["ticket"]
    assert ticket["kind"] == "complaint"
    assert ticket["number"].startswith("TS20261120")
    assert ticket["due_date"] == "2026-11-27"  # C2: 5 working days
    assert body["speech"] == (
        f"您的投诉已登记，投诉编号为{ticket['number']}。我们将在2026年11月27日前与您联系。"
        "处理结果将在2026年12月7日前告知您。"  # C7: 15 days, Sat Dec 5 rolls to Mon Dec 7
    )
    complaint = (await client.get(f"/v1/complaints/{ticket['id']}", headers=admin.headers)).json()
    assert complaint["channel"] == "hotline"
    assert complaint["status"] == "registered"
    assert complaint["complainant"]["phones"] == ["138****8000"]
    assert complaint["received_at"] == "2026-11-20T01:00:00Z"


async def test_callback_request_joins_the_callback_queue_once(
    client: AsyncClient, ivr: dict[str, str], session: AsyncSession
) -> None:
    with frozen_at(NOW):
        body = (await post_call(client, ivr, intent="callback_request", call_id="cb-1")).json()
        again = (await post_call(client, ivr, intent="callback_request", call_id="cb-1")).json()
    assert body["outcome"] == "callback_requested"
    assert body["ticket"]["kind"] == "callback"
    assert "回电" in body["speech"]
    assert again["replayed"] is True
    assert again["ticket"] == body["ticket"]
    rows = (
        await session.execute(
            text("SELECT id, kind, state, due_at FROM callbacks WHERE kind = 'ivr_request'")
        )
    ).all()
    assert len(rows) == 1
    callback = rows[0]
    assert str(callback.id) == body["ticket"]["id"]
    assert callback.state == "scheduled"
    assert callback.due_at == NOW + timedelta(hours=4)  # rule set 1: within 4 hours


async def test_status_query_creates_nothing_and_lists_open_items(
    client: AsyncClient, ivr: dict[str, str], session: AsyncSession
) -> None:
    with frozen_at(NOW):
        inquiry = (await post_call(client, ivr, intent="inquiry")).json()
        report = (await post_call(client, ivr, intent="claim_report")).json()
        before = await session.scalar(text("SELECT count(*) FROM ticket_events"))
        body = (await post_call(client, ivr, intent="status_query")).json()
    assert await session.scalar(text("SELECT count(*) FROM ticket_events")) == before
    assert body["outcome"] == "status_reported"
    assert body["ticket"] is None
    numbers = [i["number"] for i in body["open_items"]]
    assert numbers == [inquiry["ticket"]["number"], report["ticket"]["number"]]
    assert body["open_items"][0]["next_due"]["text"] == "将于2026年11月23日前答复"
    assert body["speech"].startswith("您有2件正在办理的事项。")


async def test_a_retry_replays_the_same_answer_and_says_so(
    client: AsyncClient, ivr: dict[str, str], session: AsyncSession
) -> None:
    payload = call_payload(intent="claim_report")
    with frozen_at(NOW):
        first = await client.post("/v1/ivr/calls", json=payload, headers=ivr)
        again = await client.post("/v1/ivr/calls", json=payload, headers=ivr)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["replayed"] is True
    assert {**again.json(), "replayed": False} == first.json()
    count = await session.scalar(
        text("SELECT count(*) FROM claim_reports WHERE number = :n"),
        {"n": first.json()["ticket"]["number"]},
    )
    assert count == 1


async def test_same_call_id_with_another_payload_is_409(
    client: AsyncClient, ivr: dict[str, str]
) -> None:
    payload = call_payload(intent="inquiry")
    with frozen_at(NOW):
        await client.post("/v1/ivr/calls", json=payload, headers=ivr)
        other = await client.post(
            "/v1/ivr/calls", json={**payload, "intent": "complaint"}, headers=ivr
        )
    assert other.status_code == 409
    assert other.json()["code"] == "call_id_reused"


async def test_call_ids_are_unique_per_ivr_key(
    client: AsyncClient, ivr: dict[str, str], admin: Actor
) -> None:
    other_ivr = await api_key(client, admin.headers)
    payload = call_payload(intent="inquiry", call_id="shared-id")
    with frozen_at(NOW):
        mine = (await client.post("/v1/ivr/calls", json=payload, headers=ivr)).json()
        theirs = (await client.post("/v1/ivr/calls", json=payload, headers=other_ivr)).json()
    assert theirs["replayed"] is False
    assert theirs["ticket"]["id"] != mine["ticket"]["id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("caller_number", "12345"), ("caller_number", "not a phone"), ("started_at", None)],
)
async def test_bad_input_is_422_naming_the_field(
    client: AsyncClient, ivr: dict[str, str], field: str, value: str | None
) -> None:
    payload = call_payload()
    if value is None:  # in the future (the schema itself checks only the order)
        payload[field], payload["ended_at"] = "2030-01-01T00:00:00+08:00", None
    else:
        payload[field] = value
    with frozen_at(NOW):
        response = await client.post("/v1/ivr/calls", json=payload, headers=ivr)
    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_the_branch_comes_from_policy_then_key_then_default(
    client: AsyncClient,
    app: FastAPI,
    admin: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    hq = await hq_branch(session_factory)
    policy_branch = await add_branch(session_factory)
    key_branch = await add_branch(session_factory)
    policy = await client.post(
        "/v1/policies",
        json={"number": "P-2026-7788", "product_line": "motor", "branch_id": str(policy_branch.id)},
        headers=admin.headers,
    )
    assert policy.status_code == 201, policy.text
    unbound = await api_key(client, admin.headers)
    bound = await api_key(client, admin.headers, branch_id=key_branch.id)

    async def branch_of(headers: dict[str, str], **overrides: str) -> str:
        with frozen_at(NOW):
            body = (await post_call(client, headers, intent="claim_report", **overrides)).json()
        report = await client.get(
            f"/v1/claim-reports/{body['ticket']['id']}", headers=admin.headers
        )
        return str(report.json()["branch_id"])

    assert await branch_of(bound, policy_number="P-2026-7788") == str(policy_branch.id)
    assert await branch_of(bound, policy_number="P-UNKNOWN-1") == str(key_branch.id)
    assert await branch_of(unbound) == str(hq.id)
    known = await client.get(
        "/v1/claim-reports", params={"policy_number": "P-2026-7788"}, headers=admin.headers
    )
    assert known.json()["items"][0]["product_line"] == "motor"


async def test_without_any_branch_the_call_is_refused_clearly(
    client: AsyncClient, admin: Actor, app: FastAPI
) -> None:
    # No HQ branch in this test's database state, and the key names none.
    from sqlalchemy import select

    from app.org.models import Branch

    async with app.state.db.session_factory() as session:
        if await session.scalar(select(Branch).where(Branch.code == "HQ")) is not None:
            pytest.skip("an HQ branch exists in this database")
    unbound = await api_key(client, admin.headers)
    with frozen_at(NOW):
        response = await client.post("/v1/ivr/calls", json=call_payload(), headers=unbound)
    assert response.status_code == 409
    assert response.json()["code"] == "no_intake_branch"


async def test_caller_is_one_customer_and_personal_data_is_not_stored_in_clear(
    client: AsyncClient, ivr: dict[str, str], session: AsyncSession
) -> None:
    with frozen_at(NOW):
        first = (await post_call(client, ivr, caller_number="+86 138 0013 8000")).json()
        second = (
            await post_call(client, ivr, caller_number="008613800138000", id_digits="12345X")
        ).json()
    assert first["customer_id"] == second["customer_id"]
    rows = await session.execute(
        text(
            "SELECT row_to_json(c)::text FROM ivr_calls c WHERE customer_id = :id "
            "UNION ALL SELECT row_to_json(p)::text FROM customer_phones p WHERE customer_id = :id"
        ),
        {"id": first["customer_id"]},
    )
    raw = " ".join(row[0] for row in rows)
    assert first["call_id"] in raw
    for secret in (PHONE, "8613800138000", "12345X", "12345x"):
        assert secret not in raw
    assert PHONE not in json.dumps(first)


async def test_agents_cannot_report_calls_and_the_ivr_cannot_read_tickets(
    client: AsyncClient, ivr: dict[str, str], app: FastAPI, session_factory: object
) -> None:
    agent = await add_actor(app, session_factory, role="agent")  # type: ignore[arg-type]
    refused = await client.post("/v1/ivr/calls", json=call_payload(), headers=agent.headers)
    assert refused.status_code == 403
    with frozen_at(NOW):
        body = (await post_call(client, ivr)).json()
    read = await client.get(f"/v1/inquiries/{body['ticket']['id']}", headers=ivr)
    assert read.status_code == 403
