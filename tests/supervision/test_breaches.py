"""Breaches and clocks at risk: what supervisors see, in order, scoped to their branch."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clocks.sweeper import breach_batch
from app.org.models import Branch
from tests.access.helpers import assert_problem
from tests.complaints.helpers import clock
from tests.conftest import Actor, add_actor
from tests.supervision.helpers import (
    accepted,
    decided_and_notified,
    frozen_local,
    local,
    registered,
    step,
)

C3, C7 = "C3_acceptance_notice", "C7_handling_decision"
MARCH = {"from": local("2026-03-01T00:00").isoformat(), "to": local("2026-04-01T00:00").isoformat()}


@pytest.fixture
async def agent(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    return await add_actor(app, session_factory, role="agent")


@pytest.fixture
async def supervisor(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], agent: Actor
) -> Actor:
    async with session_factory() as session:
        branch = await session.get_one(Branch, agent.user.branch_id)
    return await add_actor(app, session_factory, role="supervisor", branch=branch)


async def _breaches(client: AsyncClient, who: Actor, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/sla/breaches", params={**MARCH, **params}, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_breached_clock_stays_in_the_report_after_its_ticket_is_closed(
    client: AsyncClient, agent: Actor, supervisor: Actor, session: AsyncSession
) -> None:
    complaint = await registered(client, agent.headers, "2026-03-02T10:00")
    complaint = await accepted(client, agent.headers, complaint, at="2026-03-03T10:00")
    due = clock(complaint, C7)
    assert due["due_date"] == "2026-03-17"  # 15 calendar days
    assert await breach_batch(session, local("2026-03-18T01:00"), batch=100) == 1
    complaint = await decided_and_notified(client, agent.headers, complaint, at="2026-03-20T10:00")
    closed = await step(client, agent.headers, complaint, "close", {}, at="2026-03-20T11:00")
    assert closed["status"] == "closed"

    (row,) = await _breaches(client, supervisor)

    assert row["ticket"] == {
        "kind": "complaint",
        "id": complaint["id"],
        "number": complaint["number"],
        "status": "closed",
    }
    assert row["clock"]["name"] == C7
    assert (row["clock"]["state"], row["clock"]["outcome"]) == ("stopped", "met_late")
    assert row["due_at"] == due["due_at"] == "2026-03-17T16:00:00Z"
    assert row["breached_at"] == "2026-03-17T17:00:00Z"
    assert (row["late_by"], row["late_unit"]) == (3, "calendar_days")  # notified on the 20th
    assert row["branch_code"] is not None
    assert row["cause"] == "mis_selling"


async def test_lateness_counts_in_the_clocks_own_unit(
    client: AsyncClient, agent: Actor, supervisor: Actor, session: AsyncSession
) -> None:
    # Materials complete on Thursday 5 March: C3 is 10 working days → due Thursday 19 March.
    complaint = await registered(client, agent.headers, "2026-03-05T10:00")
    assert clock(complaint, C3)["due_date"] == "2026-03-19"
    await breach_batch(session, local("2026-03-20T00:30"), batch=100)
    with frozen_local("2026-03-24T09:00"):  # Tuesday: working days after the 19th: 20, 23, 24
        running = await _breaches(client, supervisor, clock_name=C3)
    assert [(r["clock"]["state"], r["late_by"], r["late_unit"]) for r in running] == [
        ("running", 3, "working_days")
    ]
    stopped = await accepted(client, agent.headers, complaint, at="2026-03-23T15:00")
    assert clock(stopped, C3)["outcome"] == "met_late"
    with frozen_local("2026-03-30T09:00"):  # stopped on Monday the 23rd: 20 and 23
        (row,) = await _breaches(client, supervisor, clock_name=C3)
    assert (row["late_by"], row["clock"]["state"]) == (2, "stopped")


async def test_breaches_are_filtered_paged_and_scoped_to_the_branch(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    agent: Actor,
    supervisor: Actor,
    admin: Actor,
    session: AsyncSession,
) -> None:
    other_agent = await add_actor(app, session_factory, role="agent")
    mine = [
        await registered(client, agent.headers, f"2026-03-0{day}T10:00", product_line=line)
        for day, line in ((2, "life"), (3, "motor"), (4, "life"))
    ]
    theirs = await registered(client, other_agent.headers, "2026-03-02T11:00")
    await breach_batch(session, local("2026-03-25T00:30"), batch=100)  # C3 and C7 of all four

    visible = await _breaches(client, supervisor)
    assert {row["ticket"]["id"] for row in visible} == {c["id"] for c in mine}
    assert len(visible) == 6
    assert [row["breached_at"] for row in visible] == sorted(r["breached_at"] for r in visible)
    everything = await _breaches(client, admin)
    assert theirs["id"] in {row["ticket"]["id"] for row in everything}
    life = await _breaches(client, supervisor, product_line="life", clock_name=C7)
    assert {row["ticket"]["id"] for row in life} == {mine[0]["id"], mine[2]["id"]}
    assert await _breaches(client, supervisor, ticket_kind="inquiry") == []
    assert (
        await _breaches(client, admin, branch_id=str(other_agent.user.branch_id), cause="x") == []
    )

    pages, cursor = [], None
    while True:
        params = {**MARCH, "limit": 4, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/sla/breaches", params=params, headers=admin.headers)
        pages += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [r["clock"]["id"] for r in pages] == [r["clock"]["id"] for r in everything]

    april = {
        "from": local("2026-04-01T00:00").isoformat(),
        "to": local("2026-05-01T00:00").isoformat(),
    }
    outside = await _breaches(client, supervisor, **april)
    assert outside == []
    backwards = await client.get(
        "/v1/sla/breaches", params={"from": MARCH["to"], "to": MARCH["from"]},
        headers=admin.headers,
    )  # fmt: skip
    assert_problem(backwards, 422, "invalid_input")


async def test_breaches_as_csv_carry_no_personal_data(
    client: AsyncClient, agent: Actor, supervisor: Actor, session: AsyncSession
) -> None:
    complaint = await registered(client, agent.headers, "2026-03-02T10:00")
    await breach_batch(session, local("2026-03-25T00:30"), batch=100)
    response = await client.get(
        "/v1/sla/breaches", params=MARCH, headers={**supervisor.headers, "Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["clock_name"] for row in rows} == {C3, C7}
    assert {row["ticket_number"] for row in rows} == {complaint["number"]}
    assert all(row["late_unit"] in {"working_days", "calendar_days"} for row in rows)
    for secret in ("张三丰", "13800138000", "110101199003071234", "张"):
        assert secret not in response.text


async def test_at_risk_lists_running_clocks_due_soon_most_urgent_first(
    client: AsyncClient, agent: Actor, supervisor: Actor, session: AsyncSession
) -> None:
    # Received Monday 2 March: C3 due Monday 16 March, C7 due Tuesday 17 March.
    first = await registered(client, agent.headers, "2026-03-02T10:00")
    second = await registered(client, agent.headers, "2026-03-03T10:00")  # C3 17th, C7 18th
    done = await registered(client, agent.headers, "2026-03-02T11:00")
    await accepted(client, agent.headers, done, at="2026-03-04T10:00")  # its C3 has stopped

    def ask(within: int, unit: str = "working_days", **extra: Any) -> Any:
        params = {"within": within, "unit": unit, **extra}
        return client.get("/v1/sla/at-risk", params=params, headers=supervisor.headers)

    with frozen_local("2026-03-13T10:00"):  # Friday; one working day ahead is Monday the 16th
        one_day = (await ask(1)).json()["items"]
        two_days = (await ask(2)).json()["items"]
        hours = (await ask(90, "hours")).json()["items"]
    assert [(r["ticket"]["id"], r["clock"]["name"]) for r in one_day] == [(first["id"], C3)]
    assert one_day[0]["working_days_left"] == 1
    assert one_day[0]["overdue"] is False
    assert one_day[0]["hours_left"] == 86.0  # to 24:00 on Monday
    pairs = [(r["ticket"]["id"], r["clock"]["name"]) for r in two_days]
    assert pairs[0] == (first["id"], C3)
    # All due at 24:00 on Tuesday the 17th (the clock id breaks the tie); the accepted
    # complaint's C3 has stopped, its C7 runs on.
    assert set(pairs[1:]) == {(first["id"], C7), (second["id"], C3), (done["id"], C7)}
    # Friday 10:00 + 90 h = Tuesday 04:00: only the clock due at 24:00 on Monday.
    assert [(r["ticket"]["id"], r["clock"]["name"]) for r in hours] == [(first["id"], C3)]
    with frozen_local("2026-03-17T10:00"):  # the first C3 is past due, not yet swept
        overdue = (await ask(0)).json()["items"]
    assert overdue[0]["clock"]["name"] == C3
    assert overdue[0]["overdue"] is True
    assert overdue[0]["hours_left"] < 0
    await breach_batch(session, local("2026-03-17T10:00"), batch=100)
    with frozen_local("2026-03-17T10:00"):
        swept = (await ask(0)).json()["items"]
    assert all(r["clock"]["state"] == "running" and not r["overdue"] for r in swept)
    assert done["id"] not in {r["ticket"]["id"] for r in swept if r["clock"]["name"] == C3}
