"""The delivery worker: queue deliveries from the change feed, send them signed, record outcomes.

A round, each step its own short transaction (no transaction stays open across HTTP calls):

1. fan-out — for each active subscription (locked ``FOR UPDATE SKIP LOCKED``), read the feed
   after its position with the feed's rule (only transactions that have ended), insert one
   delivery per matching event (``ON CONFLICT DO NOTHING``) and move the position, in one
   statement. Only committed events are in the feed, so an event is delivered if and only if
   its transaction committed.
2. claim — due pending deliveries, picked ``FOR UPDATE SKIP LOCKED``; the claim counts the
   attempt and leases the row (``next_attempt_at`` moves past the request timeout), so another
   worker skips it, now and after this transaction commits.
3. send — concurrently, with the HTTP client the caller passes (tests inject one).
4. record — ``WHERE attempts = <claimed attempt>``: a delivery replayed meanwhile is left alone.

Any number of workers may run. A worker that dies mid-send loses only its lease: the delivery is
sent again when the lease ends (receivers de-duplicate by ``X-ContactDesk-Delivery``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access.pii import FieldCipher
from app.core.clock import utc_now
from app.core.config import Settings
from app.db.errors import is_database_unavailable
from app.feed import service as feed
from app.feed.models import OutboxEvent
from app.webhooks import signing
from app.webhooks.service import SECRET_PURPOSE

logger = logging.getLogger(__name__)

USER_AGENT = "contact-desk-webhooks/1"

FAN_OUT = text(
    """
    WITH horizon AS (
        SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin
    ), subs AS (
        SELECT s.id, s.event_types, s.after_xact, s.after_id
        FROM webhook_subscriptions s
        WHERE s.active
        ORDER BY s.id
        FOR UPDATE SKIP LOCKED
    ), batch AS (
        SELECT s.id AS subscription_id, s.event_types, e.id AS event_id, e.xact_id, e.type
        FROM subs s
        CROSS JOIN horizon h
        CROSS JOIN LATERAL (
            SELECT e.id, e.xact_id, e.type
            FROM outbox_events e
            WHERE (e.xact_id, e.id) > (s.after_xact, s.after_id) AND e.xact_id < h.xmin
            ORDER BY e.xact_id, e.id
            LIMIT :batch
        ) e
    ), inserted AS (
        INSERT INTO webhook_deliveries
            (id, subscription_id, event_id, event_type, status, attempts, next_attempt_at,
             created_at)
        SELECT gen_random_uuid(), b.subscription_id, b.event_id, b.type, 'pending', 0, :now, :now
        FROM batch b
        WHERE b.type = ANY (b.event_types)
           OR '*' = ANY (b.event_types)
           OR split_part(b.type, '.', 1) || '.*' = ANY (b.event_types)
        ORDER BY b.subscription_id, b.xact_id, b.event_id
        ON CONFLICT (subscription_id, event_id) DO NOTHING
        RETURNING 1
    ), advanced AS (
        UPDATE webhook_subscriptions s
        SET after_xact = last.xact_id, after_id = last.event_id
        FROM (
            SELECT DISTINCT ON (subscription_id) subscription_id, xact_id, event_id
            FROM batch
            ORDER BY subscription_id, xact_id DESC, event_id DESC
        ) last
        WHERE s.id = last.subscription_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM inserted) AS created,
           (SELECT count(*) FROM (
                SELECT 1 FROM batch GROUP BY subscription_id HAVING count(*) >= :batch
           ) full_batches) AS more
    """
)

CLAIM = text(
    """
    WITH due AS (
        SELECT d.id
        FROM webhook_deliveries d
        JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= :now AND s.active
        ORDER BY d.next_attempt_at
        LIMIT :batch
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, last_attempt_at = :now, next_attempt_at = :lease_until
    FROM due, webhook_subscriptions s, outbox_events e
    WHERE d.id = due.id AND s.id = d.subscription_id AND e.id = d.event_id
    RETURNING d.id AS delivery_id, d.attempts, s.url, s.secret_enc,
              e.id, e.xact_id, e.type, e.ticket_kind, e.ticket_id, e.occurred_at,
              e.recorded_at, e.actor, e.payload
    """
)

RECORD = text(
    """
    UPDATE webhook_deliveries
    SET status = :status, next_attempt_at = :next_attempt_at, last_status_code = :status_code,
        last_error = :error, delivered_at = COALESCE(:delivered_at, delivered_at)
    WHERE id = :id AND attempts = :attempts AND status = 'pending'
    """
)


@dataclass(frozen=True, slots=True)
class Policy:
    timeout: float
    batch: int
    max_attempts: int
    retry_base: float
    retry_cap: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            timeout=settings.webhook_timeout_seconds,
            batch=settings.webhook_batch_size,
            max_attempts=settings.webhook_max_attempts,
            retry_base=settings.webhook_retry_base_seconds,
            retry_cap=settings.webhook_retry_cap_seconds,
        )

    @property
    def lease(self) -> dt.timedelta:
        """How long a claimed delivery is left to its worker: well past the request timeout."""
        return dt.timedelta(seconds=self.timeout * 3 + 30)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait after ``attempts`` failed attempts: base, 2 × base, 4 × base, … up to the cap."""
        return dt.timedelta(seconds=min(self.retry_base * 2 ** (attempts - 1), self.retry_cap))


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: Any
    attempts: int
    url: str
    secret_enc: str
    event: OutboxEvent


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Round:
    queued: int
    sent: int
    delivered: int


def http_client(policy: Policy) -> httpx.AsyncClient:
    """The client a worker sends with: a connection per concurrent delivery kept alive between
    rounds, and redirects not followed (a 3xx is a failed attempt)."""
    limits = httpx.Limits(max_connections=policy.batch, max_keepalive_connections=policy.batch)
    return httpx.AsyncClient(limits=limits, follow_redirects=False)


async def fan_out(session: AsyncSession, now: dt.datetime, *, batch: int) -> tuple[int, bool]:
    """Queue deliveries for up to ``batch`` feed events per subscription; (queued, more)."""
    row = (await session.execute(FAN_OUT, {"now": now, "batch": batch})).one()
    return int(row.created), int(row.more) > 0


async def claim(session: AsyncSession, now: dt.datetime, policy: Policy) -> list[Claimed]:
    params = {"now": now, "batch": policy.batch, "lease_until": now + policy.lease}
    rows = (await session.execute(CLAIM, params)).mappings().all()
    return [
        Claimed(
            delivery_id=row["delivery_id"],
            attempts=row["attempts"],
            url=row["url"],
            secret_enc=row["secret_enc"],
            event=OutboxEvent(**{name: row[name] for name in _EVENT_COLUMNS}),
        )
        for row in rows
    ]


_EVENT_COLUMNS = (
    "id",
    "xact_id",
    "type",
    "ticket_kind",
    "ticket_id",
    "occurred_at",
    "recorded_at",
    "actor",
    "payload",
)


def body_of(event: OutboxEvent) -> bytes:
    """The exact bytes sent (and signed): the event as the change feed shows it."""
    document = feed.render(event).model_dump(mode="json")
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def send(
    client: httpx.AsyncClient,
    cipher: FieldCipher,
    item: Claimed,
    *,
    now: dt.datetime,
    time_limit: float,
) -> Outcome:
    """One signed POST. Only a 2xx answer counts; redirects are not followed."""
    try:
        secret = cipher.decrypt(item.secret_enc, purpose=SECRET_PURPOSE)
    except Exception:  # a key no longer configured, say: a failure of this attempt, not a crash
        return Outcome(item, None, "the signing secret cannot be decrypted")
    body = body_of(item.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_HEADER: item.event.type,
        signing.DELIVERY_HEADER: str(item.delivery_id),
        **signing.headers(secret, int(now.timestamp()), body),
    }
    try:
        response = await client.post(item.url, content=body, headers=headers, timeout=time_limit)
    except httpx.HTTPError as exc:
        return Outcome(item, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Outcome(item, response.status_code, None)
    return Outcome(item, response.status_code, f"HTTP {response.status_code}")


def _recorded(outcome: Outcome, now: dt.datetime, policy: Policy) -> dict[str, Any]:
    attempts = outcome.claimed.attempts
    if outcome.ok:
        status, due = "delivered", now
    elif attempts >= policy.max_attempts:
        status, due = "failed", now
    else:
        status, due = "pending", now + policy.backoff(attempts)
    return {
        "id": outcome.claimed.delivery_id,
        "attempts": attempts,
        "status": status,
        "next_attempt_at": due,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "delivered_at": now if outcome.ok else None,
    }


async def record(
    session: AsyncSession, outcomes: list[Outcome], now: dt.datetime, policy: Policy
) -> None:
    if outcomes:
        await session.execute(RECORD, [_recorded(outcome, now, policy) for outcome in outcomes])


async def run_once(
    session_factory: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    cipher: FieldCipher,
    policy: Policy,
    *,
    now: dt.datetime | None = None,
) -> Round:
    """One round: fan out, claim one batch, send it, record the outcomes. ``now`` fixes the
    round's time (tests); by default each step reads the clock."""
    given = now
    now = given or utc_now()
    queued, more = 0, True
    while more:
        async with session_factory() as session:
            created, more = await fan_out(session, now, batch=policy.batch * 20)
            await session.commit()
        queued += created
    async with session_factory() as session:
        claimed = await claim(session, now, policy)
        await session.commit()
    outcomes = list(
        await asyncio.gather(
            *(send(client, cipher, item, now=now, time_limit=policy.timeout) for item in claimed)
        )
    )
    async with session_factory() as session:
        await record(session, outcomes, given or utc_now(), policy)
        await session.commit()
    return Round(queued=queued, sent=len(outcomes), delivered=sum(o.ok for o in outcomes))


async def run_periodically(
    session_factory: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    cipher: FieldCipher,
    policy: Policy,
    *,
    interval: float,
    stop: asyncio.Event | None = None,
) -> None:
    """Rounds back to back while there is work; a pause of ``interval`` after an idle round.
    Failures are logged and retried: the worker must outlive a database restart."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        busy = False
        try:
            result = await run_once(session_factory, client, cipher, policy)
            busy = result.sent > 0
            if busy:
                logger.info(
                    "webhooks sent",
                    extra={"sent": result.sent, "delivered": result.delivered},
                )
        except Exception as exc:
            if is_database_unavailable(exc):
                logger.warning("webhook round skipped: database unavailable")
            else:
                logger.exception("webhook round failed")
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
