"""The clock ledger is append-only, enforced by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.clocks import service
from tests.clocks.helpers import start_clock

CHANGES = [
    "UPDATE clock_events SET reason = 'rewritten' WHERE clock_id = :id",
    "UPDATE clock_events SET at = at - interval '1 day'",
    "DELETE FROM clock_events WHERE clock_id = :id",
    "TRUNCATE clock_events CASCADE",
]


@pytest.mark.parametrize("statement", CHANGES)
async def test_changing_or_removing_events_fails_in_the_database(
    session: AsyncSession, statement: str
) -> None:
    clock = await start_clock(session)
    with pytest.raises(DBAPIError, match="append-only") as raised:
        async with session.begin_nested():
            await session.execute(text(statement), {"id": clock.id})
    assert "23001" in str(raised.value.orig.sqlstate)  # type: ignore[union-attr]
    events = await service.events_of(session, clock.id)
    assert [(e.kind, e.reason) for e in events] == [("started", None)]


async def test_inserting_events_is_allowed(session: AsyncSession) -> None:
    clock = await start_clock(session)
    await session.execute(
        text(
            "INSERT INTO clock_events (clock_id, kind, at, actor) "
            "VALUES (:id, 'warned', now(), 'system:test')"
        ),
        {"id": clock.id},
    )
    assert len(await service.events_of(session, clock.id)) == 2
