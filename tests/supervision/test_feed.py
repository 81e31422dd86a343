"""The change feed: every event once, in a stable order, after commit, none skipped even when
transactions commit out of order. Real commits on separate connections (``committed_db``)."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, text

from app.api.etag import ANY_VERSION
from app.complaints import acceptance, transitions
from app.complaints.schemas import Accept, NoticeIn
from app.core.clock import utc_now
from app.events import service as events
from app.feed.models import OutboxEvent
from app.feed.service import decode_position
from app.webhooks import worker
from app.webhooks.models import WebhookDelivery
from tests.access.helpers import assert_problem
from tests.complaints.helpers import SMS_SENT, act, register
from tests.conftest import add_actor
from tests.supervision.helpers import http, read_feed


def _of(ticket_id: str, items: list[dict[str, object]]) -> list[str]:
    return [
        str(e["type"])
        for e in items
        if e["ticket"] and e["ticket"]["id"] == ticket_id  # type: ignore[index]
    ]


async def test_every_change_is_published_once_in_a_stable_resumable_order(
    committed_db: FastAPI,
) -> None:
    admin = await add_actor(committed_db, committed_db.state.db.session_factory, role="admin")
    async with http(committed_db) as client:
        _, start = await read_feed(client, admin.headers)
        created = await register(client, admin.headers, materials_complete=True)
        accepted = await act(client, admin.headers, created, "accept", {"notice": SMS_SENT})
        assert accepted.status_code == 200
        whole, end = await read_feed(client, admin.headers, start)
        paged, paged_end = await read_feed(client, admin.headers, start, limit=2)
        again, _ = await read_feed(client, admin.headers, end)

    assert [e["id"] for e in paged] == [e["id"] for e in whole]  # pages skip and repeat nothing
    assert paged_end == end
    assert again == []  # polling from the end gives nothing new
    assert _of(created.json()["id"], whole) == [
        # Registration writes its rows in one statement: the ticket first, then its clocks.
        "complaint.register",
        "clock.started",  # C7, handling decision
        "clock.started",  # C3, acceptance notice
        "clock.stopped",  # C3 met: the acceptance notice counted
        "complaint.accept",
    ]
    positions = [decode_position(str(e["cursor"])) for e in whole]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    accept = whole[-1]
    assert accept["data"]["from_status"] == "under_review"
    assert accept["data"]["to_status"] == "investigating"
    assert accept["data"]["data"]["notice"] == {
        "kind": "acceptance",
        "mode": "sms",
        "delivery": "sent",
        "counted": True,
    }
    stopped = whole[-2]
    assert stopped["data"]["clock"]["name"] == "C3_acceptance_notice"
    assert stopped["data"]["data"] == {"outcome": "met"}


async def test_a_rolled_back_transition_publishes_nothing(committed_db: FastAPI) -> None:
    """Neither in the feed nor as a webhook delivery, while it runs or after it rolled back."""
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")

    async def queued() -> list[str]:
        async with factory() as session:
            await worker.fan_out(session, utc_now(), batch=100)
            await session.commit()
            rows = await session.scalars(select(WebhookDelivery.event_type))
            return sorted(rows.all())

    async with http(committed_db) as client:
        created = (await register(client, admin.headers, materials_complete=True)).json()
        hook = {"name": "claims", "url": "https://claims.example/hook", "event_types": ["*"]}
        assert (await client.post("/v1/webhooks", json=hook, headers=admin.headers)).is_success
        _, start = await read_feed(client, admin.headers)
        principal = admin.principal("scope:all_branches", "tickets:write")
        async with factory() as session:
            context = transitions.Context(session=session, principal=principal, now=utc_now())
            body = Accept(notice=NoticeIn(mode="sms", delivery="sent"))
            await acceptance.accept(context, uuid.UUID(created["id"]), body, ANY_VERSION)
            written = await session.scalar(
                select(OutboxEvent.id)
                .where(OutboxEvent.ticket_id == uuid.UUID(created["id"]))
                .order_by(OutboxEvent.id.desc())
                .limit(1)
            )
            assert written is not None  # the outbox row exists inside the transaction ...
            assert await queued() == []  # ... but no one sees it while it runs ...
            await session.rollback()
        after_rollback, cursor = await read_feed(client, admin.headers, start)
        assert await queued() == []
        committed = await act(client, admin.headers, created, "accept", {"notice": SMS_SENT})
        assert committed.status_code == 200
        after_commit, _ = await read_feed(client, admin.headers, cursor)

    assert after_rollback == []  # ... and it vanished with the rollback
    assert _of(created["id"], after_commit) == ["clock.stopped", "complaint.accept"]
    assert await queued() == ["clock.stopped", "complaint.accept"]


async def test_transactions_committing_out_of_order_are_not_skipped(committed_db: FastAPI) -> None:
    """T1 starts first and writes first, T2 writes and commits, then T1 commits. A reader polling
    in between must not move past T1's event: it gets both, T1's first, once T1 has ended."""
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")
    first_ticket, second_ticket = uuid.uuid4(), uuid.uuid4()

    async def append(session: object, ticket_id: uuid.UUID, action: str) -> None:
        await events.append(
            session,  # type: ignore[arg-type]
            ticket_kind="complaint",
            ticket_id=ticket_id,
            at=utc_now(),
            actor="test",
            action=action,
        )

    async with http(committed_db) as client:
        _, cursor = await read_feed(client, admin.headers)
        first = factory()
        second = factory()
        try:
            await append(first, first_ticket, "first")  # T1 gets the older transaction id
            await append(second, second_ticket, "second")
            await second.commit()  # T2 commits first

            seen_meanwhile, polled = await read_feed(client, admin.headers, cursor)
            async with factory() as naive:  # a reader keeping the last id it saw
                naive_seen = (
                    await naive.execute(
                        select(OutboxEvent.id, OutboxEvent.type)
                        .where(OutboxEvent.ticket_id.in_([first_ticket, second_ticket]))
                        .order_by(OutboxEvent.id)
                    )
                ).all()
            assert [row.type for row in naive_seen] == ["complaint.second"]
            assert seen_meanwhile == []  # the feed holds T2's event back while T1 runs
            assert polled == cursor

            await first.commit()  # T1 commits last
        finally:
            await first.close()
            await second.close()
        after, _ = await read_feed(client, admin.headers, polled)

    assert [e["type"] for e in after] == ["complaint.first", "complaint.second"]
    # T1's event got the smaller id: a reader that had moved its cursor past T2's id would
    # never have seen it. The feed, ordered by transaction, did.
    assert after[0]["id"] < naive_seen[0].id


async def test_feed_refuses_a_cursor_it_did_not_issue(client: AsyncClient, admin: object) -> None:
    headers = admin.headers  # type: ignore[attr-defined]
    response = await client.get("/v1/events", params={"after": "not-a-cursor"}, headers=headers)
    assert_problem(response, 422, "invalid_cursor")
    forged = await client.get("/v1/events", params={"after": "WyJ4Il0"}, headers=headers)
    assert_problem(forged, 422, "invalid_cursor")


async def test_events_carry_their_transaction_id(committed_db: FastAPI) -> None:
    factory = committed_db.state.db.session_factory
    async with factory() as session:
        await events.append(
            session,
            ticket_kind="complaint",
            ticket_id=uuid.uuid4(),
            at=utc_now(),
            actor="test",
            action="probe",
        )
        xid = await session.scalar(text("SELECT (pg_current_xact_id()::text)::bigint"))
        stored = await session.scalar(
            select(OutboxEvent.xact_id).where(OutboxEvent.type == "complaint.probe")
        )
        await session.commit()
    assert stored == xid


async def test_phone_and_id_numbers_in_free_text_are_masked(committed_db: FastAPI) -> None:
    factory = committed_db.state.db.session_factory
    admin = await add_actor(committed_db, factory, role="admin")
    async with factory() as session:
        await events.append(
            session,
            ticket_kind="complaint",
            ticket_id=uuid.uuid4(),
            at=utc_now(),
            actor="test",
            action="note",
            reason="请回电 13800138000",
            data={"remedies": ["身份证 110101199003071234 核实"], "count": 13800138000},
        )
        await session.commit()
    async with http(committed_db) as client:
        (event,) = [
            e for e in (await read_feed(client, admin.headers))[0] if e["type"] == "complaint.note"
        ]
    assert event["data"]["reason"] == "请回电 138****8000"
    assert event["data"]["data"]["remedies"] == ["身份证 1****************4 核实"]
    assert event["data"]["data"]["count"] == 13800138000  # numbers are data, not text
