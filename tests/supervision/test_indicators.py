"""Service indicators against hand-computed figures; the daily summary changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clocks.sweeper import breach_batch
from app.reports import summary
from app.reports.models import SlaSummary
from tests.complaints.helpers import clock
from tests.conftest import Actor, add_actor
from tests.supervision.helpers import accepted, decided_and_notified, http, local, registered

C3, C7 = "C3_acceptance_notice", "C7_handling_decision"


@pytest.fixture
async def supervisor(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="supervisor")


async def ten_complaints(
    client: AsyncClient, headers: dict[str, str], sweep: Any
) -> list[dict[str, Any]]:
    """Ten complaints received Monday 2 March 2026 10:00, accepted the next day (C3 met), C7
    (15 calendar days) due Tuesday 17 March. Decision notices, and working days after the 2nd:

    - 4 on Monday 9 March (5 working days) and 3 on Monday 16 March (10): on time;
    - 1 on Wednesday 18 March, before the breach was recorded (12): met late;
    - 2 breached by the sweeper on the 18th, notified Friday 20 March (14): late.

    7 of 10 on time → 70 %; handling 4×5 + 3×10 + 12 + 2×14 = 90 working days / 10 = 9.0.
    """
    complaints = [await registered(client, headers, "2026-03-02T10:00") for _ in range(10)]
    complaints = [await accepted(client, headers, c, at="2026-03-03T10:00") for c in complaints]
    assert {clock(c, C7)["due_date"] for c in complaints} == {"2026-03-17"}
    notices = ["2026-03-09T10:00"] * 4 + ["2026-03-16T10:00"] * 3 + ["2026-03-18T10:00"]
    done = [
        await decided_and_notified(client, headers, c, at=at)
        for c, at in zip(complaints, notices, strict=False)
    ]
    assert await sweep(local("2026-03-18T11:00")) == 2
    done += [
        await decided_and_notified(client, headers, c, at="2026-03-20T10:00")
        for c in complaints[8:]
    ]
    assert [clock(c, C7)["outcome"] for c in done] == ["met"] * 7 + ["met_late"] * 3
    return done


async def indicators(client: AsyncClient, who: Actor, **params: Any) -> dict[str, Any]:
    query = {"from": "2026-03-01", "to": "2026-03-31", **params}
    response = await client.get("/v1/reports/service-indicators", params=query, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rates_of(row: dict[str, Any]) -> dict[str, tuple[int, int, float | None]]:
    return {c["clock_name"]: (c["settled"], c["met"], c["on_time_rate"]) for c in row["clocks"]}


async def test_on_time_rate_and_handling_time_match_the_hand_computed_fixture(
    client: AsyncClient, supervisor: Actor, session: AsyncSession
) -> None:
    await ten_complaints(
        client, supervisor.headers, lambda now: breach_batch(session, now, batch=100)
    )

    (month,) = (await indicators(client, supervisor))["rows"]
    assert month["period_start"] == "2026-03-01"
    assert month["group"] is None
    assert rates_of(month) == {C3: (10, 10, 1.0), C7: (10, 7, 0.7)}
    assert month["complaint_handling_on_time_rate"] == 0.7
    assert (month["decisions_notified"], month["average_handling_working_days"]) == (10, 9.0)

    weeks = (await indicators(client, supervisor, period="week"))["rows"]
    assert [w["period_start"] for w in weeks] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert rates_of(weeks[0]) == {C3: (10, 10, 1.0)}
    assert rates_of(weeks[1]) == {C7: (4, 4, 1.0)}
    assert rates_of(weeks[2]) == {C7: (6, 3, 0.5)}  # 3 on time, 1 met late, 2 breached
    assert [(w["decisions_notified"], w["average_handling_working_days"]) for w in weeks] == [
        (0, None),
        (4, 5.0),
        (6, round(70 / 6, 2)),
    ]

    by_branch = await indicators(client, supervisor, group_by="branch")
    (row,) = by_branch["rows"]
    assert row["group"] == str(supervisor.user.branch_id)
    assert row["group_label"] is not None
    assert row["complaint_handling_on_time_rate"] == 0.7
    by_cause = (await indicators(client, supervisor, group_by="cause"))["rows"]
    assert [(r["group"], r["complaint_handling_on_time_rate"]) for r in by_cause] == [
        ("mis_selling", 0.7)
    ]
    assert month["first_contact_resolution_rate"] is None  # no inquiry answered
    assert month["callback_success_rate"] is None  # no callback ended
    body = await indicators(client, supervisor)
    assert "on_time_rate" in body["definitions"]
    april = await indicators(client, supervisor, **{"from": "2026-04-01", "to": "2026-04-30"})
    assert april["rows"] == []


async def test_another_branch_sees_none_of_it(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    supervisor: Actor,
    admin: Actor,
    session: AsyncSession,
) -> None:
    complaint = await registered(client, supervisor.headers, "2026-03-02T10:00")
    await accepted(client, supervisor.headers, complaint, at="2026-03-03T10:00")
    stranger = await add_actor(app, session_factory, role="supervisor")
    assert (await indicators(client, stranger))["rows"] == []
    (row,) = (await indicators(client, admin, group_by="branch"))["rows"]
    assert row["group"] == str(supervisor.user.branch_id)


async def test_the_daily_summary_gives_the_same_figures_folded_or_not(
    committed_db: FastAPI,
) -> None:
    factory = committed_db.state.db.session_factory
    supervisor = await add_actor(committed_db, factory, role="supervisor")
    admin = await add_actor(committed_db, factory, role="admin")

    async def sweep(now: Any) -> int:
        async with factory() as session:
            count = await breach_batch(session, now, batch=100)
            await session.commit()
        return count

    async def all_views(client: AsyncClient) -> list[Any]:
        rates = [
            (await indicators(client, who, period=period, **group))["rows"]
            for who in (supervisor, admin)
            for period in ("day", "month")
            for group in ({}, {"group_by": "team"}, {"group_by": "channel"})
        ]
        counts = []
        for who in (supervisor, admin):
            for first, last in (
                ("2026-03-01", "2026-03-31"),  # a whole month: the monthly counts
                ("2026-02-20", "2026-03-10"),  # no whole month: the tickets themselves
                ("2026-02-20", "2026-04-05"),  # both
                ("2026-03-02", "2026-03-30"),  # March less its first and last day
                ("2026-02-03", "2026-03-29"),  # February and March, each less two days
            ):
                response = await client.get(
                    "/v1/reports/complaints",
                    params={"from": first, "to": last},
                    headers=who.headers,
                )
                assert response.status_code == 200, response.text
                counts.append((response.json()["total"], response.json()["cells"]))
        return [rates, counts]

    async def stored_rows() -> int:
        async with factory() as session:
            return len((await session.scalars(select(SlaSummary.starts_on))).all())

    async with http(committed_db) as client:
        await ten_complaints(client, supervisor.headers, sweep)
        for received in ("2026-02-25T10:00", "2026-03-31T23:00", "2026-04-02T10:00"):
            await registered(client, supervisor.headers, received, channel="email")
        unfolded = await all_views(client)
        assert await stored_rows() == 0
        async with factory() as session:  # part of the feed only: the rest is read live
            assert await summary.fold(session, batch=25) == 25
            await session.commit()
        partly = await all_views(client)
        assert await summary.fold_all(factory, batch=40) > 0
        folded = await all_views(client)
        assert await stored_rows() > 0
        async with factory() as session:
            assert await summary.rebuild(session, batch=7) > 0
            during = await all_views(client)  # the old summaries until the rebuild commits
            await session.commit()
        rebuilt = await all_views(client)

    month = unfolded[0][3][0]  # the supervisor, by month, ungrouped
    assert rates_of(month)[C7] == (10, 7, 0.7)
    assert month["average_handling_working_days"] == 9.0
    assert [total for total, _ in unfolded[1]] == [11, 11, 13, 10, 11] * 2
    # The e-mailed complaint of 31 March is in March's count and taken off again: no empty cell.
    assert all(cell["count"] > 0 for _, cells in unfolded[1] for cell in cells)
    assert "email" not in {cell["channel"] for cell in unfolded[1][3][1]}
    assert unfolded == partly == folded == during == rebuilt
