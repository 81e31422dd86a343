"""Webhooks: the secret shown once, signed deliveries, exactly-once delivery by concurrent
workers, retries with capped backoff, the delivery log and replay."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from app.access.pii import FieldCipher
from app.access.secrets import load_key_material
from app.complaints.states import Action
from app.core.clock import utc_now
from app.webhooks import signing, worker
from app.webhooks.models import WebhookSubscription
from app.webhooks.service import SECRET_PURPOSE, check_url
from tests.access.helpers import assert_problem
from tests.complaints.helpers import SMS_SENT, act, register
from tests.conftest import Actor, add_actor
from tests.supervision.helpers import (
    Receiver,
    cipher_of,
    deliveries_of,
    drain,
    http,
    subscribe,
)

SECRET = "whsec_test-secret"
BODY = b'{"type":"complaint.accept"}'

# --- signing (pure) ----------------------------------------------------------------------


def test_a_signature_verifies_and_a_tampered_body_does_not() -> None:
    headers = signing.headers(SECRET, 1_800_000_000, BODY)
    signature = headers[signing.SIGNATURE_HEADER]
    assert signature.startswith("v1=")
    assert len(signature) == 3 + 64

    def check(body: bytes, *, secret: str = SECRET, now: float = 1_800_000_010) -> bool:
        return signing.verify(
            secret, timestamp="1800000000", body=body, signature_header=signature, now=now
        )

    assert check(BODY)
    assert not check(BODY.replace(b"accept", b"reject"))
    assert not check(BODY + b" ")
    assert not check(BODY, secret="whsec_other")
    assert not check(BODY, now=1_800_000_000 + 301)  # a replay, too old
    rotated = f"v1={'0' * 64}, {signature}"  # several signatures: one must match
    assert signing.verify(SECRET, timestamp="1800000000", body=BODY, signature_header=rotated,
                          now=1_800_000_000)  # fmt: skip
    assert not signing.verify(SECRET, timestamp="soon", body=BODY, signature_header=signature,
                              now=1_800_000_000)  # fmt: skip


def test_the_signed_text_is_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.signature(SECRET, 1_800_000_000, BODY) == f"v1={expected}"


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = worker.Policy(timeout=5, batch=10, max_attempts=8, retry_base=10, retry_cap=60)
    waits = [policy.backoff(n).total_seconds() for n in range(1, 6)]
    assert waits == [10, 20, 40, 60, 60]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://claims.example.com/hook", True),
        ("http://127.0.0.1:8080/hook", True),
        ("http://localhost/hook", True),
        ("http://[::1]:9000/hook", True),
        ("http://claims.example.com/hook", False),
        ("http://10.0.0.5/hook", False),
        ("http://127.0.0.1.example.com/hook", False),
    ],
)
def test_plain_http_only_to_this_machine(url: str, allowed: bool) -> None:
    from app.core.errors import InvalidInput

    if allowed:
        assert check_url(url, allow_plain_http=True) == url
    else:
        with pytest.raises(InvalidInput):
            check_url(url, allow_plain_http=True)
    if url.startswith("http://"):
        with pytest.raises(InvalidInput):
            check_url(url, allow_plain_http=False)  # production: https only


# --- administration ------------------------------------------------------------------------


async def test_the_secret_is_shown_once_and_stored_encrypted(
    client: AsyncClient, admin: Actor, session: Any, app: FastAPI
) -> None:
    created = await subscribe(client, admin, ["complaint.*", "clock.breached"])
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["clock.breached", "complaint.*"]
    shown = await client.get(f"/v1/webhooks/{created['id']}", headers=admin.headers)
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    listed = await client.get("/v1/webhooks", headers=admin.headers)
    assert all("secret" not in item for item in listed.json()["items"])
    stored = await session.scalar(
        select(WebhookSubscription.secret_enc).where(
            WebhookSubscription.id == uuid.UUID(created["id"])
        )
    )
    assert created["secret"] not in stored
    keys = await load_key_material(session, app.state.settings)
    assert FieldCipher(keys.pii_keys).decrypt(stored, purpose=SECRET_PURPOSE) == created["secret"]


async def test_subscriptions_are_validated_and_changed_with_if_match(
    client: AsyncClient, admin: Actor
) -> None:
    bad_type = await client.post(
        "/v1/webhooks",
        json={"name": "x", "url": "https://a.example/h", "event_types": ["Complaint accept"]},
        headers=admin.headers,
    )
    assert_problem(bad_type, 422, "validation_failed")
    plain = await client.post(
        "/v1/webhooks",
        json={"name": "x", "url": "http://a.example/h", "event_types": ["*"]},
        headers=admin.headers,
    )
    assert_problem(plain, 422, "invalid_input")
    created = await subscribe(client, admin, ["*"])
    path = f"/v1/webhooks/{created['id']}"
    missing = await client.patch(path, json={"active": False}, headers=admin.headers)
    assert_problem(missing, 428)
    changed = await client.patch(
        path, json={"active": False}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    assert changed.status_code == 200
    assert changed.json()["active"] is False
    stale = await client.patch(
        path, json={"active": True}, headers={**admin.headers, "If-Match": '"v1"'}
    )
    assert_problem(stale, 412, "stale_version")
    unknown = await client.get(f"/v1/webhooks/{uuid.uuid4()}/deliveries", headers=admin.headers)
    assert_problem(unknown, 404)


# --- delivery --------------------------------------------------------------------------------


async def test_only_the_subscribed_types_from_its_creation_on_are_queued(
    committed_db: FastAPI,
) -> None:
    admin = await add_actor(committed_db, committed_db.state.db.session_factory, role="admin")
    async with http(committed_db) as client:
        before = await register(client, admin.headers, materials_complete=True)
        subscription = await subscribe(client, admin, ["complaint.accept"])
        await act(client, admin.headers, before, "accept", {"notice": SMS_SENT})
        await register(client, admin.headers)
    receiver = Receiver(secret=subscription["secret"])
    await drain(committed_db, receiver, worker.Policy(5, 10, 5, 1, 10))
    assert [event["type"] for event in receiver.events()] == [f"complaint.{Action.ACCEPT}"]


async def test_failures_back_off_then_fail_and_a_replay_delivers(committed_db: FastAPI) -> None:
    admin = await add_actor(committed_db, committed_db.state.db.session_factory, role="admin")
    async with http(committed_db) as client:
        subscription = await subscribe(client, admin, ["complaint.register"])
        await register(client, admin.headers)
    receiver = Receiver(secret=subscription["secret"], status=503)
    policy = worker.Policy(timeout=5, batch=10, max_attempts=3, retry_base=60, retry_cap=90)
    factory, cipher = committed_db.state.db.session_factory, await cipher_of(committed_db)
    t0 = utc_now()

    async def round_at(offset: float) -> worker.Round:
        async with receiver.client() as http_client:
            now = t0 + dt.timedelta(seconds=offset)
            return await worker.run_once(factory, http_client, cipher, policy, now=now)

    assert (await round_at(0)).sent == 1
    (delivery,) = await deliveries_of(committed_db, subscription["id"])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=60)
    assert (await round_at(59)).sent == 0  # not due yet
    assert (await round_at(60)).sent == 1
    (delivery,) = await deliveries_of(committed_db, subscription["id"])
    assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=60 + 90)  # 120, capped at 90
    assert (await round_at(150)).sent == 1
    (delivery,) = await deliveries_of(committed_db, subscription["id"])
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 503")
    assert (await round_at(10_000)).sent == 0  # failed: no more attempts

    async with http(committed_db) as client:
        log = await client.get(
            f"/v1/webhooks/{subscription['id']}/deliveries",
            params={"status": "failed"},
            headers=admin.headers,
        )
        assert [item["id"] for item in log.json()["items"]] == [str(delivery.id)]
        replayed = await client.post(
            f"/v1/webhooks/{subscription['id']}/deliveries/{delivery.id}/replay",
            headers=admin.headers,
        )
        assert replayed.status_code == 202, replayed.text
        assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 0)
    receiver.status = 200
    await drain(committed_db, receiver, policy)
    (delivery,) = await deliveries_of(committed_db, subscription["id"])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert len(receiver.received) == 4  # three failures, then the replay


async def test_an_unreachable_receiver_is_an_attempt_not_a_crash(committed_db: FastAPI) -> None:
    admin = await add_actor(committed_db, committed_db.state.db.session_factory, role="admin")
    async with http(committed_db) as client:
        subscription = await subscribe(client, admin, ["*"], url="http://127.0.0.1:9/nothing")
        await register(client, admin.headers)
    cipher = await cipher_of(committed_db)
    async with httpx.AsyncClient() as real_client:
        result = await worker.run_once(
            committed_db.state.db.session_factory,
            real_client,
            cipher,
            worker.Policy(timeout=2, batch=50, max_attempts=5, retry_base=1, retry_cap=10),
        )
    assert result.sent >= 1
    assert result.delivered == 0
    deliveries = await deliveries_of(committed_db, subscription["id"])
    assert {d.status for d in deliveries} == {"pending"}
    assert all(d.last_error and d.last_error.startswith("ConnectError") for d in deliveries)
