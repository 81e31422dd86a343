"""Registration sends all its rows in one statement, counted on the process's remembered
calendar: what it writes must be exactly what the API answered, and a calendar changed by
another instance in between must still give the right due dates."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.access.helpers import audit_events
from tests.complaints.helpers import clock, register
from tests.conftest import Actor, add_actor

pytestmark = pytest.mark.usefixtures("client")

BACKDATE = {"received_at_reason": "letter postmarked earlier"}


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


async def test_a_calendar_changed_elsewhere_is_used_for_the_next_registration(
    client: AsyncClient, agent: Actor, session: AsyncSession
) -> None:
    # Received Monday 2026-11-02: five working days end Monday 2026-11-09.
    received = {"received_at": "2026-11-02T10:00:00+08:00", **BACKDATE}
    first = await register(client, agent.headers, **received)
    assert clock(first, "C2_supplement_or_confirm")["due_date"] == "2026-11-09"
    # Another instance declares Wednesday 2026-11-04 a holiday (new row, new version) while
    # this process still remembers the calendar it counted the first complaint on.
    await session.execute(
        text(
            "INSERT INTO calendar_days (calendar_code, date, working, kind, name) "
            "VALUES ('CN', '2026-11-04', false, 'holiday', 'test holiday')"
        )
    )
    await session.execute(text("UPDATE calendars SET version = version + 1 WHERE code = 'CN'"))
    second = await register(client, agent.headers, **received)
    assert clock(second, "C2_supplement_or_confirm")["due_date"] == "2026-11-10"
    stored = await session.scalar(
        text(
            "SELECT due_date::text FROM clocks WHERE subject_id = :id "
            "AND name = 'C2_supplement_or_confirm'"
        ),
        {"id": uuid.UUID(second.json()["id"])},
    )
    assert stored == "2026-11-10"
    version = await session.scalar(
        text(
            "SELECT e.calendar_version = c.version FROM clock_events e, calendars c "
            "JOIN clocks k ON true WHERE k.subject_id = :id AND e.clock_id = k.id "
            "AND c.code = 'CN' LIMIT 1"
        ),
        {"id": uuid.UUID(second.json()["id"])},
    )
    assert version is True


async def test_what_is_stored_is_what_was_answered(
    client: AsyncClient, agent: Actor, session: AsyncSession
) -> None:
    answered = (
        await register(
            client,
            agent.headers,
            channel="regulator_referral",
            regulator={"reference": "京银保监投诉 2026-77", "reply_by": "2026-12-20"},
            complainant={
                "name": "李四",
                "phones": ["138-0013-8000", "+86 139 0013 9000"],
                "relation": "insured",
            },
        )
    ).json()
    complaint_id = uuid.UUID(answered["id"])
    row = (
        await session.execute(
            text(
                "SELECT number, status, version, regulator_ref, materials_received, "
                "handling_limit_days FROM complaints WHERE id = :id"
            ),
            {"id": complaint_id},
        )
    ).one()
    assert row.number == answered["number"]
    assert (row.status, row.version) == (answered["status"], answered["version"])
    assert row.regulator_ref == "京银保监投诉 2026-77"
    assert row.materials_received == answered["materials_received"]
    assert row.handling_limit_days == 15
    phones = await session.scalar(
        text("SELECT count(*) FROM complainant_phones WHERE complaint_id = :id"),
        {"id": complaint_id},
    )
    assert phones == 2
    clocks = (
        await session.execute(
            text("SELECT name, due_date::text FROM clocks WHERE subject_id = :id ORDER BY name"),
            {"id": complaint_id},
        )
    ).all()
    assert {(c["name"], c["due_date"]) for c in answered["clocks"]} == {tuple(c) for c in clocks}
    started = await session.scalar(
        text(
            "SELECT count(*) FROM clock_events e JOIN clocks k ON k.id = e.clock_id "
            "WHERE k.subject_id = :id AND e.kind = 'started'"
        ),
        {"id": complaint_id},
    )
    assert started == 3
    timeline = await client.get(f"/v1/complaints/{complaint_id}/timeline", headers=agent.headers)
    assert [e["action"] for e in timeline.json()["items"]] == ["register"]


async def test_a_backdated_registration_is_audited_once(
    client: AsyncClient,
    app: FastAPI,
    agent: Actor,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    admin = await add_actor(app, session_factory, role="admin")
    received = {"received_at": "2026-11-02T10:00:00+08:00", **BACKDATE}
    complaint = (await register(client, agent.headers, **received)).json()
    events = await audit_events(
        client, admin, action="complaint.backdated", target_id=complaint["id"]
    )
    assert len(events) == 1
    assert events[0]["details"]["reason"] == BACKDATE["received_at_reason"]
