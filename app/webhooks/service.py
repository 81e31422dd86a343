"""Webhook administration: subscriptions (the secret shown once), the delivery log, replay."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import audit
from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.core.errors import Conflict, InvalidCursor, InvalidInput, NotFound, StaleVersion
from app.db.keyset import split_page
from app.feed import service as feed
from app.webhooks import repository, signing
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.schemas import WebhookCreate, WebhookUpdate

SECRET_PURPOSE = "webhook_secret"  # noqa: S105 - a label bound into the ciphertext, no secret
"""Associated data of the encrypted secret: it cannot be swapped with another field's value."""


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_plain_http: bool) -> str:
    """https anywhere; plain http only to this machine, and only outside production."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if scheme == "https":
        return url
    if scheme == "http" and allow_plain_http and _is_loopback(host):
        return url
    raise InvalidInput("A webhook URL must use https.", field="url")


async def create(
    session: AsyncSession,
    actor: Principal,
    codec: PiiCodec,
    data: WebhookCreate,
    *,
    now: datetime,
    allow_plain_http: bool,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned once, stored encrypted). It receives
    the events of every transaction that commits from now on."""
    url = check_url(str(data.url), allow_plain_http=allow_plain_http)
    secret = signing.new_secret()
    start = await feed.start_position(session)
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        name=data.name,
        url=url,
        event_types=sorted(set(data.event_types)),
        secret_enc=codec.seal(secret, purpose=SECRET_PURPOSE),
        active=data.active,
        created_by=actor.actor,
        version=1,
        after_xact=start.xact_id,
        after_id=start.id,
        created_at=now,
        updated_at=now,
    )
    await repository.add_subscription(session, subscription)
    await audit.record(
        session,
        actor,
        "webhook.created",
        target_kind="webhook",
        target_id=subscription.id,
        url=url,
        event_types=subscription.event_types,
    )
    return subscription, secret


async def get(session: AsyncSession, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = await repository.get_subscription(session, subscription_id)
    if subscription is None:
        raise NotFound(f"Webhook {subscription_id} does not exist.")
    return subscription


async def list_page(
    session: AsyncSession, *, limit: int, after: list[Any] | None
) -> tuple[list[WebhookSubscription], list[str] | None]:
    rows = await repository.list_subscriptions(session, limit=limit + 1, after=after)
    return split_page(rows, limit)


async def update(
    session: AsyncSession,
    actor: Principal,
    subscription_id: uuid.UUID,
    data: WebhookUpdate,
    *,
    expected: ExpectedVersion,
    allow_plain_http: bool,
) -> WebhookSubscription:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        changes["url"] = check_url(str(changes["url"]), allow_plain_http=allow_plain_http)
    if "event_types" in changes:
        changes["event_types"] = sorted(set(changes["event_types"]))
    expected_version = None if expected == ANY_VERSION else int(expected)
    updated = await repository.update_subscription(
        session, subscription_id, expected_version=expected_version, changes=changes
    )
    if updated is None:
        current = await get(session, subscription_id)
        raise StaleVersion(
            f"Webhook {subscription_id} is at version {current.version}; reload it.",
            current_etag=f'"v{current.version}"',
        )
    await audit.record(
        session,
        actor,
        "webhook.updated",
        target_kind="webhook",
        target_id=subscription_id,
        changes={key: str(value) for key, value in changes.items()},
    )
    return updated


async def deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[WebhookDelivery], int | None]:
    """One page of the delivery log, newest event first, and the key to continue after it."""
    await get(session, subscription_id)
    if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
        raise InvalidCursor()
    rows = await repository.list_deliveries(
        session,
        subscription_id,
        status=status,
        limit=limit + 1,
        before_event=after[0] if after else None,
    )
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], rows[limit - 1].event_id


async def replay(
    session: AsyncSession,
    actor: Principal,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    now: datetime,
) -> WebhookDelivery:
    """Send the delivery again as soon as a worker is free, whatever its state."""
    subscription = await get(session, subscription_id)
    if not subscription.active:
        raise Conflict("The webhook is inactive: activate it before replaying deliveries.")
    delivery = await repository.replay_delivery(session, subscription_id, delivery_id, now=now)
    if delivery is None:
        raise NotFound(f"Webhook {subscription_id} has no delivery {delivery_id}.")
    await audit.record(
        session,
        actor,
        "webhook.delivery_replayed",
        target_kind="webhook",
        target_id=subscription_id,
        delivery_id=str(delivery_id),
        event_id=delivery.event_id,
    )
    return delivery
