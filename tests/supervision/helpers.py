"""Building blocks for the supervision tests: Beijing times, a complaint walked through its
process over HTTP, the change feed read to its end, and a webhook receiver."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from app.access.pii import FieldCipher
from app.access.secrets import load_key_material
from app.core.clock import frozen_at
from app.webhooks import signing, worker
from app.webhooks.models import WebhookDelivery
from tests.complaints.helpers import SMS_SENT, act, register
from tests.conftest import Actor

SHANGHAI = ZoneInfo("Asia/Shanghai")
BACKDATED = "letter postmarked earlier"


def local(text: str) -> datetime:
    """``2026-03-02T10:00`` in Beijing time, as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def frozen_local(text: str) -> Any:
    return frozen_at(local(text))


async def registered(
    client: AsyncClient, headers: dict[str, str], received: str, **overrides: Any
) -> dict[str, Any]:
    """A complaint with complete materials, received at the Beijing time ``received``."""
    with frozen_local(received):
        response = await register(
            client,
            headers,
            materials_complete=True,
            received_at=local(received).isoformat(),
            **overrides,
        )
    return dict(response.json())


async def step(
    client: AsyncClient,
    headers: dict[str, str],
    complaint: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    *,
    at: str,
) -> dict[str, Any]:
    """Do ``action`` at the Beijing time ``at`` (notices are sent then too)."""
    with frozen_local(at):
        response = await act(client, headers, complaint, action, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


SMS = SMS_SENT


async def accepted(
    client: AsyncClient, headers: dict[str, str], complaint: dict[str, Any], *, at: str
) -> dict[str, Any]:
    return await step(client, headers, complaint, "accept", {"notice": SMS}, at=at)


async def decided_and_notified(
    client: AsyncClient, headers: dict[str, str], complaint: dict[str, Any], *, at: str
) -> dict[str, Any]:
    """Decide, then send the decision notice (which stops C7) at ``at``."""
    decision = {"findings": "核实属实", "reasons": "条款解释不清", "remedies": ["退还保费"]}
    decided = await step(client, headers, complaint, "decide", decision, at=at)
    return await step(client, headers, decided, "notify", {"kind": "decision", **SMS}, at=at)


@asynccontextmanager
async def http(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def read_feed(
    client: AsyncClient, headers: dict[str, str], after: str | None = None, *, limit: int = 100
) -> tuple[list[dict[str, Any]], str]:
    """Every event after ``after`` (all pages), and the cursor to poll from next."""
    events: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        response = await client.get("/v1/events", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["items"]
        after = page["next_cursor"]
        if len(page["items"]) < limit:
            assert after is not None
            return events, after


@dataclass
class Receiver:
    """A webhook receiver behind ``httpx.MockTransport``: checks each signature, records what
    arrived, and answers with ``status`` (settable) after an optional pause."""

    secret: str = ""
    status: int = 204
    pause: float = 0.0
    received: list[httpx.Request] = field(default_factory=list)
    rejected: list[httpx.Request] = field(default_factory=list)
    now: float | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.pause:
            await asyncio.sleep(self.pause)
        body = request.content
        stamp = request.headers[signing.TIMESTAMP_HEADER]
        valid = signing.verify(
            self.secret,
            timestamp=stamp,
            body=body,
            signature_header=request.headers[signing.SIGNATURE_HEADER],
            # Tests move the service clock, so by default the receiver's clock is the sender's.
            now=self.now if self.now is not None else float(stamp),
        )
        if not valid:
            self.rejected.append(request)
            return httpx.Response(401)
        self.received.append(request)
        return httpx.Response(self.status)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.received]


async def subscribe(
    client: AsyncClient, admin: Actor, event_types: list[str], url: str = "http://127.0.0.1/hook"
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks",
        json={"name": "理赔系统", "url": url, "event_types": event_types},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def cipher_of(app: FastAPI) -> FieldCipher:
    async with app.state.db.session_factory() as session:
        keys = await load_key_material(session, app.state.settings)
    return FieldCipher(keys.pii_keys)


async def deliveries_of(app: FastAPI, subscription_id: str) -> list[WebhookDelivery]:
    async with app.state.db.session_factory() as session:
        rows = await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == uuid.UUID(subscription_id))
            .order_by(WebhookDelivery.event_id)
        )
        return list(rows.all())


async def drain(
    app: FastAPI, receiver: Receiver, policy: worker.Policy, *, workers: int = 1
) -> None:
    """Run ``workers`` workers side by side until a round sends nothing."""
    cipher = await cipher_of(app)
    factory = app.state.db.session_factory

    async def one_worker() -> None:
        async with receiver.client() as client:
            while (await worker.run_once(factory, client, cipher, policy)).sent:
                pass

    await asyncio.gather(*(one_worker() for _ in range(workers)))
