"""Two webhook workers on one queue: each committed event is delivered exactly once (deliveries
claimed with FOR UPDATE SKIP LOCKED under a lease). Real, committing sessions."""

from __future__ import annotations

import json

from fastapi import FastAPI

from app.webhooks import signing, worker
from tests.complaints.helpers import SMS_SENT, act, register
from tests.conftest import add_actor
from tests.supervision.helpers import Receiver, deliveries_of, drain, http, read_feed, subscribe


async def test_two_workers_deliver_each_committed_event_exactly_once(
    committed_db: FastAPI,
) -> None:
    admin = await add_actor(committed_db, committed_db.state.db.session_factory, role="admin")
    async with http(committed_db) as client:
        subscription = await subscribe(client, admin, ["complaint.*", "clock.*"])
        for _ in range(8):
            created = await register(client, admin.headers, materials_complete=True)
            await act(client, admin.headers, created, "accept", {"notice": SMS_SENT})
        published, _ = await read_feed(client, admin.headers)
    receiver = Receiver(secret=subscription["secret"], pause=0.005)
    policy = worker.Policy(timeout=5, batch=3, max_attempts=5, retry_base=1, retry_cap=10)

    await drain(committed_db, receiver, policy, workers=2)

    delivered_ids = [event["id"] for event in receiver.events()]
    assert sorted(delivered_ids) == sorted(e["id"] for e in published)  # all of them ...
    assert len(delivered_ids) == len(set(delivered_ids)) == 8 * 5  # ... each exactly once
    assert receiver.rejected == []
    deliveries = await deliveries_of(committed_db, subscription["id"])
    assert {d.status for d in deliveries} == {"delivered"}
    assert {d.attempts for d in deliveries} == {1}
    request = receiver.received[0]
    assert request.headers[signing.DELIVERY_HEADER] in {str(d.id) for d in deliveries}
    assert request.headers[signing.EVENT_HEADER] == json.loads(request.content)["type"]
    # The body is the feed's event, byte for byte what was signed; a tampered copy fails.
    tampered = request.content.replace(b'"type":"', b'"type":"x', 1)
    assert tampered != request.content
    assert not signing.verify(
        subscription["secret"],
        timestamp=request.headers[signing.TIMESTAMP_HEADER],
        body=tampered,
        signature_header=request.headers[signing.SIGNATURE_HEADER],
        now=float(request.headers[signing.TIMESTAMP_HEADER]),
    )
