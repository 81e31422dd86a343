"""A year load moves the open clocks that count through it, in the same transaction."""

from __future__ import annotations

import datetime as dt
import uuid

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.clocks import service
from app.clocks.models import Clock
from tests.calendar.test_year_load import YEAR_2027
from tests.clocks.helpers import ACTOR, event_kinds, local, start_clock
from tests.conftest import Actor

D = dt.date


async def reload(session: AsyncSession, clock_id: uuid.UUID) -> Clock:
    clock = await session.get(Clock, clock_id, populate_existing=True)
    assert clock is not None
    return clock


async def test_loading_2027_recomputes_open_clocks_across_its_holidays(
    client: AsyncClient, session: AsyncSession, admin: Actor
) -> None:
    # 10 working days from Sun 2026-12-20 on weekends alone: Fri 2027-01-01.
    moving = await start_clock(session, "C3_acceptance_notice", started_at=local(2026, 12, 20))
    assert (moving.due_date, moving.provisional) == (D(2027, 1, 1), True)
    # The regulator's own date stays, but stops being provisional.
    fixed = await start_clock(
        session, "C11_regulator_reply", started_at=local(2026, 12, 20), due_date=D(2027, 1, 10)
    )
    assert fixed.provisional is True
    stopped = await start_clock(session, "C3_acceptance_notice", started_at=local(2026, 12, 21))
    await service.stop(session, stopped.id, now=local(2026, 12, 22), actor=ACTOR)
    before_2027 = await start_clock(session, "C3_acceptance_notice", started_at=local(2026, 11, 2))
    await session.flush()

    response = await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    assert response.status_code == 200, response.text
    assert response.json()["clocks_recomputed"] == 1

    moved = await reload(session, moving.id)
    # Jan 1-3 are now off: the tenth working day is Mon Jan 4.
    assert moved.due_date == D(2027, 1, 4)
    assert moved.provisional is False
    events = await service.events_of(session, moving.id)
    assert [e.kind for e in events] == ["started", "recomputed"]
    recomputed = events[-1]
    assert recomputed.old_due_at == dt.datetime(2027, 1, 1, 16, tzinfo=dt.UTC)
    assert recomputed.new_due_at == dt.datetime(2027, 1, 4, 16, tzinfo=dt.UTC)
    assert recomputed.calendar_version == response.json()["calendar_version"]
    assert recomputed.actor == f"user:{admin.id}"

    kept = await reload(session, fixed.id)
    assert (kept.due_date, kept.provisional) == (D(2027, 1, 10), False)
    assert await event_kinds(session, fixed.id) == ["started"]
    assert await event_kinds(session, stopped.id) == ["started", "stopped"]
    assert (await reload(session, stopped.id)).provisional is True
    assert await event_kinds(session, before_2027.id) == ["started"]


async def test_a_correction_recomputes_again_and_only_when_the_due_moves(
    client: AsyncClient, session: AsyncSession
) -> None:
    clock = await start_clock(session, "C3_acceptance_notice", started_at=local(2027, 1, 28))
    await session.flush()
    # On weekends alone the tenth working day after Thu Jan 28 is Thu Feb 11.
    assert clock.due_date == D(2027, 2, 11)
    loaded = await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    assert loaded.json()["clocks_recomputed"] == 1
    # Jan 29, Sun Jan 31 (make-up), Feb 1-5, then Spring Festival Feb 6-12, Feb 15, 16, 17.
    first = await reload(session, clock.id)
    assert first.provisional is False
    assert first.due_date == D(2027, 2, 17)

    same = await client.put("/v1/calendars/CN/years/2027", json=YEAR_2027)
    assert same.json()["clocks_recomputed"] == 0

    without_makeup = {**YEAR_2027, "makeup_workdays": []}
    again = await client.put("/v1/calendars/CN/years/2027", json=without_makeup)
    assert again.json()["clocks_recomputed"] == 1
    corrected = await reload(session, clock.id)
    assert corrected.due_date == D(2027, 2, 18)
    kinds = await event_kinds(session, clock.id)
    assert kinds == ["started", "recomputed", "recomputed"]
