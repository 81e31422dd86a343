"""Queries on webhook subscriptions and deliveries (the worker's statements: ``worker.py``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.keyset import after_key
from app.webhooks.models import WebhookDelivery, WebhookSubscription


async def add_subscription(
    session: AsyncSession, subscription: WebhookSubscription
) -> WebhookSubscription:
    session.add(subscription)
    await session.flush()
    return subscription


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID
) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def list_subscriptions(
    session: AsyncSession, *, limit: int, after: list[Any] | None
) -> list[WebhookSubscription]:
    query = after_key(
        select(WebhookSubscription), WebhookSubscription.created_at, WebhookSubscription.id, after
    ).limit(limit)
    return list((await session.scalars(query)).all())


async def update_subscription(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    expected_version: int | None,
    changes: dict[str, Any],
) -> WebhookSubscription | None:
    """Apply ``changes`` if the row is still at ``expected_version`` (``None``: any version);
    ``None`` when no row matched (missing, or changed meanwhile)."""
    condition = WebhookSubscription.id == subscription_id
    if expected_version is not None:
        condition = and_(condition, WebhookSubscription.version == expected_version)
    updated = await session.scalar(
        update(WebhookSubscription)
        .where(condition)
        .values(**changes, version=WebhookSubscription.version + 1, updated_at=func.now())
        .returning(WebhookSubscription)
        .execution_options(populate_existing=True)
    )
    return updated


async def list_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    before_event: int | None,
) -> list[WebhookDelivery]:
    """Newest event first (the unique index on (subscription_id, event_id) serves it)."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.event_id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_event is not None:
        query = query.where(WebhookDelivery.event_id < before_event)
    return list((await session.scalars(query)).all())


async def replay_delivery(
    session: AsyncSession, subscription_id: uuid.UUID, delivery_id: uuid.UUID, *, now: datetime
) -> WebhookDelivery | None:
    """Queue the delivery again, due now, with a fresh count of attempts. Resetting
    ``attempts`` also voids the claim of an attempt in flight: its outcome is not recorded."""
    replayed = await session.scalar(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.subscription_id == subscription_id,
        )
        .values(status="pending", attempts=0, next_attempt_at=now)
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return replayed
