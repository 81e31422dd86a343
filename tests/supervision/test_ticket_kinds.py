"""Inquiries, claim reports and callbacks in the supervisor reports: their clocks in the breach
and at-risk lists and the on-time rates, first-contact resolution and the callback success rate,
against hand-computed figures; scoped to the branch; the summaries folded or not."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clocks.sweeper import breach_batch
from app.org.models import Branch
from app.reports import summary
from app.reports.models import SlaSummary, TicketMonth
from tests.callbacks.helpers import act as callback_act
from tests.callbacks.helpers import at_local, claim, reached, schedule
from tests.conftest import Actor, add_actor
from tests.intake.helpers import act, api_key, clock
from tests.supervision.helpers import frozen_local, http, local, registered

ANSWER = "inquiry_answer"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
MARCH_INSTANTS = {
    "from": local("2026-03-01T00:00").isoformat(),
    "to": local("2026-04-01T00:00").isoformat(),
}


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


@pytest.fixture
async def stranger(app: FastAPI, session_factory: async_sessionmaker[AsyncSession]) -> Actor:
    """A supervisor of another branch."""
    return await add_actor(app, session_factory, role="supervisor")


async def inquiry(
    client: AsyncClient, agent: Actor, at: str, answer: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": "hotline", "question": "犹豫期是多少天？"}
    if answer is not None:
        body["answer"] = answer
    with frozen_local(at):
        response = await client.post("/v1/inquiries", json=body, headers=agent.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def inquiry_act(
    client: AsyncClient, agent: Actor, ticket: dict[str, Any], action: str, body: Any, *, at: str
) -> dict[str, Any]:
    with frozen_local(at):
        response = await act(client, agent.headers, "inquiries", ticket, action, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def indicators(client: AsyncClient, who: Actor, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/reports/service-indicators", params={**MARCH, **params}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


async def listing(client: AsyncClient, who: Actor, path: str, **params: Any) -> list[Any]:
    response = await client.get(path, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def kinds_and_clocks(row: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(c["ticket_kind"], c["clock_name"]): (c["settled"], c["met"]) for c in row["clocks"]}


async def four_answered_inquiries(client: AsyncClient, agent: Actor) -> dict[str, Any]:
    """Monday 2 March 2026: two answered in the call, one registered open and answered in the
    same contact (first-contact resolution all three), one deferred and answered on Tuesday
    the 3rd (not). One more stays open and is not counted. 3 of 4 → 75 %. Returns the deferred
    one, whose answer clock (1 working day) was met."""
    for _ in range(2):
        await inquiry(client, agent, "2026-03-02T10:00", answer="15天。")
    opened = await inquiry(client, agent, "2026-03-02T10:00")
    await inquiry_act(client, agent, opened, "answer", {"answer": "15天"}, at="2026-03-02T10:05")
    deferred = await inquiry(client, agent, "2026-03-02T11:00")
    deferred = await inquiry_act(client, agent, deferred, "defer", {}, at="2026-03-02T11:05")
    deferred = await inquiry_act(
        client, agent, deferred, "answer", {"answer": "已查询"}, at="2026-03-03T10:00"
    )
    assert deferred["first_contact_resolution"] is False
    await inquiry(client, agent, "2026-03-02T12:00")  # still open: not counted
    return deferred


async def test_first_contact_resolution_of_inquiries_by_answer_date(
    client: AsyncClient, agent: Actor, supervisor: Actor, stranger: Actor, admin: Actor
) -> None:
    await four_answered_inquiries(client, agent)

    (month,) = await indicators(client, supervisor)
    assert month["first_contact_resolution_rate"] == 0.75
    assert month["callback_success_rate"] is None
    # The answer clocks of the one opened and of the deferred one were met; the last runs on.
    assert kinds_and_clocks(month) == {("inquiry", ANSWER): (2, 2)}
    days = await indicators(client, supervisor, period="day")
    assert [(d["period_start"], d["first_contact_resolution_rate"]) for d in days] == [
        ("2026-03-02", 1.0),  # three answered in the contact
        ("2026-03-03", 0.0),  # the deferred one
    ]
    by_channel = await indicators(client, supervisor, group_by="channel")
    assert [(r["group"], r["first_contact_resolution_rate"]) for r in by_channel] == [
        ("hotline", 0.75)
    ]
    assert await indicators(client, stranger) == []
    (by_branch,) = await indicators(client, admin, group_by="branch")
    assert by_branch["group"] == str(agent.user.branch_id)


async def five_ended_callbacks(client: AsyncClient, agent: Actor) -> None:
    """Five callbacks end on Tuesday 10 March 2026: two reached, one refused (contact, not
    success), two unreachable (a wrong number uses up the IVR request's only method). One
    cancelled and one still open are not counted. 2 of 5 → 40 %."""
    h = agent.headers
    with at_local("2026-03-10T09:00"):
        for _ in range(3):
            await schedule(client, h, due_at="2026-03-11T00:00:00+08:00")
        for _ in range(2):
            await schedule(client, h, kind="ivr_request", due_at="2026-03-11T00:00:00+08:00")
        await schedule(client, h, kind="new_policy", due_at="2026-03-12T00:00:00+08:00")
        cancelled = await schedule(client, h, kind="risk_service")
        response = await callback_act(client, h, cancelled, "cancel", {"reason": "重复"})
        assert response.status_code == 200, response.text
    outcomes = [
        ("satisfaction", reached(satisfaction=5)),
        ("satisfaction", reached(satisfaction=4)),
        ("satisfaction", {"method": "phone", "outcome": "refused"}),
        ("ivr_request", {"method": "phone", "outcome": "wrong_number"}),
        ("ivr_request", {"method": "phone", "outcome": "wrong_number"}),
    ]
    with at_local("2026-03-10T10:00"):
        for kind, body in outcomes:
            held = await claim(client, h, kind=kind)
            assert held.status_code == 200, held.text
            done = await callback_act(client, h, held.json(), "attempts", body)
            assert done.status_code == 200, done.text
            assert done.json()["state"] in {"completed", "unreachable"}


async def test_callback_success_rate_counts_reached_over_ended(
    client: AsyncClient, agent: Actor, supervisor: Actor, stranger: Actor
) -> None:
    await five_ended_callbacks(client, agent)

    (month,) = await indicators(client, supervisor)
    assert month["callback_success_rate"] == 0.4
    assert month["first_contact_resolution_rate"] is None
    (day,) = await indicators(client, supervisor, period="day")
    assert (day["period_start"], day["callback_success_rate"]) == ("2026-03-10", 0.4)
    assert await indicators(client, stranger) == []


async def test_a_breached_inquiry_clock_stays_listed_after_the_inquiry_is_closed(
    client: AsyncClient,
    agent: Actor,
    supervisor: Actor,
    stranger: Actor,
    session: AsyncSession,
) -> None:
    # Received Monday 2 March 2026: answer owed within 1 working day, by 24:00 on Tuesday.
    late = await inquiry(client, agent, "2026-03-02T10:00")
    assert clock(late, ANSWER)["due_at"] == "2026-03-03T16:00:00Z"
    assert await breach_batch(session, local("2026-03-04T01:00"), batch=100) == 1
    late = await inquiry_act(
        client, agent, late, "answer", {"answer": "已查询"}, at="2026-03-05T10:00"
    )
    closed = await inquiry_act(client, agent, late, "close", {}, at="2026-03-05T10:05")
    assert closed["status"] == "closed"

    (row,) = await listing(
        client, supervisor, "/v1/sla/breaches", **MARCH_INSTANTS, ticket_kind="inquiry"
    )
    assert row["ticket"] == {
        "kind": "inquiry",
        "id": late["id"],
        "number": late["number"],
        "status": "closed",
    }
    assert (row["clock"]["name"], row["clock"]["state"]) == (ANSWER, "stopped")
    assert row["breached_at"] == "2026-03-03T17:00:00Z"  # when the sweeper saw it
    assert (row["late_by"], row["late_unit"]) == (2, "working_days")  # the 4th and the 5th
    assert (row["channel"], row["team_id"], row["cause"]) == ("hotline", None, None)
    everything = await listing(client, supervisor, "/v1/sla/breaches", **MARCH_INSTANTS)
    assert [r["ticket"]["id"] for r in everything] == [late["id"]]
    complaints_only = await listing(
        client, supervisor, "/v1/sla/breaches", **MARCH_INSTANTS, ticket_kind="complaint"
    )
    assert complaints_only == []
    assert await listing(client, stranger, "/v1/sla/breaches", **MARCH_INSTANTS) == []

    (month,) = await indicators(client, supervisor)
    assert kinds_and_clocks(month) == {("inquiry", ANSWER): (1, 0)}  # late, counted once


async def test_at_risk_lists_a_claim_report_clock(
    client: AsyncClient, agent: Actor, supervisor: Actor, stranger: Actor, admin: Actor
) -> None:
    claims_system = await api_key(client, admin.headers, role="integration")
    with frozen_local("2026-03-02T09:00"):
        response = await client.post(
            "/v1/claim-reports",
            json={"channel": "hotline", "caller_phone": "13800138000", "description": "追尾"},
            headers=agent.headers,
        )
    assert response.status_code == 201, response.text
    report = response.json()
    pushes: list[tuple[str, dict[str, Any]]] = [
        ("handed_off", {"claim_number": "LP-2026-0042"}),
        ("documents_complete", {"occurred_at": "2026-03-02T10:00:00+08:00"}),
        ("decided", {"decision": "declined", "reason": "不属于保险责任"}),
    ]
    for event, fields in pushes:
        with frozen_local("2026-03-02T11:00"):
            response = await client.post(
                f"/v1/claim-reports/{report['id']}/status",
                json={"event": event, **fields},
                headers=claims_system,
            )
        assert response.status_code == 200, (event, response.text)
    refusal = clock(response.json(), "claim_refusal_notice")
    assert refusal["due_date"] == "2026-03-05"  # 3 calendar days from Monday's decline

    with frozen_local("2026-03-03T10:00"):
        at_risk = await listing(client, supervisor, "/v1/sla/at-risk", within=2)
        claims = await listing(
            client, supervisor, "/v1/sla/at-risk", within=2, ticket_kind="claim_report"
        )
        inquiries = await listing(
            client, supervisor, "/v1/sla/at-risk", within=2, ticket_kind="inquiry"
        )
        theirs = await listing(client, stranger, "/v1/sla/at-risk", within=2)
    assert [(r["ticket"]["kind"], r["clock"]["name"]) for r in at_risk] == [
        ("claim_report", "claim_refusal_notice")
    ]
    (row,) = claims
    assert row["ticket"]["number"] == report["number"]
    assert (row["working_days_left"], row["overdue"], row["product_line"]) == (2, False, "other")
    assert inquiries == theirs == []


async def test_the_summaries_fold_every_ticket_kind_and_a_rebuild_gives_the_same_figures(
    committed_db: FastAPI,
) -> None:
    factory = committed_db.state.db.session_factory
    agent = await add_actor(committed_db, factory, role="agent")
    async with factory() as session:
        branch = await session.get_one(Branch, agent.user.branch_id)
    supervisor = await add_actor(committed_db, factory, role="supervisor", branch=branch)
    admin = await add_actor(committed_db, factory, role="admin")

    async def views(client: AsyncClient) -> list[Any]:
        return [
            await indicators(client, who, period=period, **group)
            for who in (supervisor, admin)
            for period in ("day", "month")
            for group in ({}, {"group_by": "channel"}, {"group_by": "product_line"})
        ]

    async def stored() -> dict[str, int]:
        async with factory() as session:
            sla = select(SlaSummary.subject_kind, func.count()).group_by(SlaSummary.subject_kind)
            months = select(TicketMonth.subject_kind, func.sum(TicketMonth.received))
            months = months.group_by(TicketMonth.subject_kind)
            found = {f"sla:{kind}": int(n) for kind, n in await session.execute(sla)}
            found |= {f"received:{kind}": int(n) for kind, n in await session.execute(months)}
            return found

    async with http(committed_db) as client:
        await four_answered_inquiries(client, agent)
        await five_ended_callbacks(client, agent)
        late = await inquiry(client, agent, "2026-03-09T10:00")
        late = await inquiry_act(client, agent, late, "defer", {}, at="2026-03-09T10:05")
        async with factory() as session:
            # The one left open on the 2nd and the one received on the 9th.
            assert await breach_batch(session, local("2026-03-11T01:00"), batch=100) == 2
            await session.commit()
        await inquiry_act(client, agent, late, "answer", {"answer": "迟复"}, at="2026-03-12T10:00")
        unfolded = await views(client)
        assert await stored() == {}
        await summary.fold_all(factory, batch=9)
        folded = await views(client)
        counts = await stored()
        async with factory() as session:
            await summary.rebuild(session, batch=5)
            await session.commit()
        rebuilt = await views(client)
        assert await stored() == counts

    (month,) = unfolded[3]  # the supervisor, by month, ungrouped
    assert kinds_and_clocks(month) == {("inquiry", ANSWER): (4, 2)}
    assert month["first_contact_resolution_rate"] == 0.6  # 3 of 5 answered
    assert month["callback_success_rate"] == 0.4
    assert counts["received:inquiry"] == 6
    assert counts["received:callback"] == 7
    assert counts["sla:inquiry"] > 0
    assert unfolded == folded == rebuilt


async def test_breach_pages_interleave_the_ticket_kinds_in_breach_order(
    client: AsyncClient, agent: Actor, supervisor: Actor, session: AsyncSession
) -> None:
    """Each kind's clocks are read in order up to the page size, then merged: paging one row
    at a time gives the same rows, in the same order, as one page of everything."""
    complaint = await registered(client, agent.headers, "2026-03-02T10:00")
    inquiries = [await inquiry(client, agent, f"2026-03-0{day}T10:00") for day in (2, 3, 4)]
    sweeps = ("2026-03-04T01:00", "2026-03-05T01:00", "2026-03-06T01:00", "2026-03-20T01:00")
    for at in sweeps:
        await breach_batch(session, local(at), batch=100)

    everything = await listing(client, supervisor, "/v1/sla/breaches", **MARCH_INSTANTS)
    assert [r["ticket"]["kind"] for r in everything] == [
        "inquiry",
        "inquiry",
        "inquiry",
        "complaint",  # C3 (due the 16th) and C7 (due the 17th), both swept on the 20th
        "complaint",
    ]
    assert {r["ticket"]["id"] for r in everything[3:]} == {complaint["id"]}
    assert {r["ticket"]["id"] for r in everything[:3]} == {i["id"] for i in inquiries}
    paged, cursor = [], None
    while True:
        params = {**MARCH_INSTANTS, "limit": 1, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/sla/breaches", params=params, headers=supervisor.headers)
        assert response.status_code == 200, response.text
        paged += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [r["clock"]["id"] for r in paged] == [r["clock"]["id"] for r in everything]
