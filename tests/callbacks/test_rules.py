"""Callbacks other features schedule in their own transaction: a decided complaint's
follow-up, a paid claim, an IVR call-back request — due dates on the real calendar."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.pii import FieldCipher, PiiCodec
from app.callbacks import service
from app.clocks import service as clocks
from app.complaints.models import Complaint
from app.core.errors import InvalidInput
from app.db.batch import WriteBatch
from app.org.models import Branch
from tests.callbacks.helpers import act, at_local, claim, local
from tests.complaints.helpers import PHONE as COMPLAINANT_PHONE
from tests.complaints.helpers import register
from tests.conftest import Actor, add_actor

pytestmark = pytest.mark.usefixtures("client")

ACTOR = "user:rules-test"
IVR_CLIENT = uuid.uuid4()


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


@pytest.fixture
def codec(app: FastAPI, agent: Actor) -> PiiCodec:
    keys = app.state.keys  # loaded by add_actor, as the app loads them
    return PiiCodec(FieldCipher(keys.pii_keys), keys.pii_hash_key)


async def _complaint(client: AsyncClient, agent: Actor, session: AsyncSession) -> Complaint:
    created = await register(client, agent.headers, materials_complete=True)
    return await session.get_one(Complaint, uuid.UUID(created.json()["id"]))


@pytest.mark.parametrize(
    ("decided_at", "working_days", "due_at"),
    [
        # Tue 2025-09-30 + 5 working days: Oct 9, 10, 11 (Sat, make-up), 13, 14.
        ("2025-09-30T16:00", None, "2025-10-14T16:00:00Z"),
        ("2026-09-30T09:00", 10, "2026-10-20T16:00:00Z"),
        ("2026-02-12T11:00", 5, "2026-02-26T16:00:00Z"),  # across Spring Festival
    ],
)
async def test_a_decided_complaint_gets_its_follow_up_on_working_days(
    client: AsyncClient,
    agent: Actor,
    session: AsyncSession,
    decided_at: str,
    working_days: int | None,
    due_at: str,
) -> None:
    complaint = await _complaint(client, agent, session)
    callback = await service.schedule_complaint_followup(
        session, complaint, local(decided_at), ACTOR, working_days=working_days
    )
    again = await service.schedule_complaint_followup(session, complaint, local(decided_at), ACTOR)
    await session.commit()
    assert again.id == callback.id  # one follow-up per complaint
    response = await client.get(
        f"/v1/callbacks/{callback.id}", params={"reveal": "phone"}, headers=agent.headers
    )
    body = response.json()
    assert body["kind"] == "complaint_followup"
    assert body["origin"] == "complaint_decided"
    assert (body["ticket_kind"], body["ticket_id"]) == ("complaint", str(complaint.id))
    assert body["due_at"] == due_at
    assert body["customer"]["phones"] == [COMPLAINANT_PHONE]  # copied sealed, opens the same
    assert body["branch_id"] == str(complaint.branch_id)
    timeline = await client.get(f"/v1/callbacks/{callback.id}/timeline", headers=agent.headers)
    assert [(e["action"], e["actor"]) for e in timeline.json()["items"]] == [("schedule", ACTOR)]


async def test_an_ivr_request_runs_the_rule_sets_four_hour_clock(
    client: AsyncClient, agent: Actor, session: AsyncSession, codec: PiiCodec
) -> None:
    async def request(batch: WriteBatch) -> uuid.UUID:
        callback = await service.schedule_ivr_request(
            session,
            codec,
            batch,
            client_id=IVR_CLIENT,
            branch_id=agent.user.branch_id,
            phone_e164="+8613900139000",
            name=None,
            call_id="IVR-20260310-0001",
            now=local("2026-03-10T20:30"),
            actor="api_key:ivr",
        )
        return callback.id

    first = await clocks.write_guarded(session, request)
    await session.commit()
    url = f"/v1/callbacks/{first}"
    body = (await client.get(url, headers=agent.headers)).json()
    assert body["due_at"] == "2026-03-10T16:30:00Z"  # 00:30 local: 4 hours
    assert body["source_ref"] == "IVR-20260310-0001"
    assert body["customer"] == {"name": None, "phones": ["139****9000"], "revealed": []}
    [clock] = body["clocks"]
    assert clock["name"] == "ivr_callback_request"
    with at_local("2026-03-10T20:40"):
        held = (await claim(client, agent.headers)).json()
        done = await act(
            client,
            agent.headers,
            held,
            "attempts",
            {
                "method": "phone",
                "outcome": "reached",
                "completion": {"answers": {"request_handled": True}},
            },
        )
    assert done.status_code == 200, done.text
    assert done.json()["clocks"][0]["outcome"] == "met"


async def test_an_ivr_request_refuses_a_bad_number(
    session: AsyncSession, agent: Actor, codec: PiiCodec
) -> None:
    with pytest.raises(InvalidInput):
        await service.schedule_ivr_request(
            session,
            codec,
            WriteBatch(),
            client_id=IVR_CLIENT,
            branch_id=agent.user.branch_id,
            phone_e164="12",
            name="张三",
            call_id="IVR-bad",
            now=local("2026-03-10T10:00"),
            actor="api_key:ivr",
        )


async def test_a_paid_claim_gets_its_callback_ten_working_days_later(
    client: AsyncClient,
    agent: Actor,
    session: AsyncSession,
    codec: PiiCodec,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    claim_id = uuid.uuid4()
    async with session_factory() as other:
        branch = await other.get_one(Branch, agent.user.branch_id)
    callback = await service.schedule_claim_paid(
        session,
        codec,
        branch_id=branch.id,
        claim_id=claim_id,
        policy_number="P-CLAIM-1",
        name="赵六",
        phones_e164=["+8613700137000", "13700137000"],
        paid_at=local("2026-09-30T15:00"),
        now=local("2026-09-30T15:05"),
        actor="api_key:claims",
    )
    await session.commit()
    body = (await client.get(f"/v1/callbacks/{callback.id}", headers=agent.headers)).json()
    assert body["kind"] == "claim_paid"
    assert (body["ticket_kind"], body["ticket_id"]) == ("claim_report", str(claim_id))
    assert body["due_at"] == "2026-10-20T16:00:00Z"
    assert body["customer"]["phones"] == ["137****7000"]  # one number, written twice
