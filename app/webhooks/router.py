"""Webhook subscriptions, their delivery log and replay (administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.access.deps import pii_codec, require
from app.access.permissions import Permission
from app.access.pii import PiiCodec
from app.access.principal import Principal
from app.api.deps import SessionDep
from app.api.etag import ExpectedVersion, require_if_match, set_etag
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.core.clock import utc_now
from app.core.config import Environment, Settings
from app.webhooks import service
from app.webhooks.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    route_class=TransactionalRoute,
    responses=problem_responses(401, 403, 429),
)

Admin = Annotated[Principal, Depends(require(Permission.WEBHOOKS_ADMIN))]
Codec = Annotated[PiiCodec, Depends(pii_codec)]


def _plain_http_allowed(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.environment is not Environment.PRODUCTION


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    operation_id="createWebhook",
    summary="Subscribe a URL to events; the signing secret is in this response only",
    responses=problem_responses(422),
)
async def create_webhook(
    request: Request,
    body: WebhookCreate,
    session: SessionDep,
    actor: Admin,
    codec: Codec,
    response: Response,
) -> WebhookCreated:
    subscription, secret = await service.create(
        session,
        actor,
        codec,
        body,
        now=utc_now(),
        allow_plain_http=_plain_http_allowed(request),
    )
    response.headers["Location"] = f"/v1/webhooks/{subscription.id}"
    set_etag(response, subscription.version)
    return WebhookCreated(**WebhookOut.model_validate(subscription).model_dump(), secret=secret)


@router.get(
    "",
    response_model=Page[WebhookOut],
    operation_id="listWebhooks",
    summary="List webhook subscriptions",
)
async def list_webhooks(
    session: SessionDep, _: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[WebhookOut]:
    rows, key = await service.list_page(session, limit=page.limit, after=page.after())
    return Page[WebhookOut](
        items=[WebhookOut.model_validate(row) for row in rows],
        next_cursor=encode_cursor(key) if key else None,
    )


@router.get(
    "/{webhook_id}",
    response_model=WebhookOut,
    operation_id="getWebhook",
    summary="Get a webhook subscription (never its secret)",
    responses=problem_responses(404),
)
async def get_webhook(
    webhook_id: uuid.UUID, session: SessionDep, _: Admin, response: Response
) -> WebhookOut:
    subscription = await service.get(session, webhook_id)
    set_etag(response, subscription.version)
    return WebhookOut.model_validate(subscription)


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    operation_id="updateWebhook",
    summary="Change a subscription's name, URL, event types or active flag (needs If-Match)",
    responses=problem_responses(404, 412, 422, 428),
)
async def update_webhook(
    request: Request,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    session: SessionDep,
    actor: Admin,
    response: Response,
    expected: Annotated[ExpectedVersion, Depends(require_if_match)],
) -> WebhookOut:
    subscription = await service.update(
        session,
        actor,
        webhook_id,
        body,
        expected=expected,
        allow_plain_http=_plain_http_allowed(request),
    )
    set_etag(response, subscription.version)
    return WebhookOut.model_validate(subscription)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    operation_id="listWebhookDeliveries",
    summary="The delivery log of a subscription, newest event first",
    responses=problem_responses(404),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    _: Admin,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(description="Only this status.")
    ] = None,
) -> Page[DeliveryOut]:
    rows, last_event = await service.deliveries(
        session, webhook_id, status=status, limit=page.limit, after=page.after()
    )
    return Page[DeliveryOut](
        items=[DeliveryOut.model_validate(row) for row in rows],
        next_cursor=encode_cursor([last_event]) if last_event is not None else None,
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    operation_id="replayWebhookDelivery",
    summary="Send a delivery again (queued, due now, attempts counted afresh)",
    responses=problem_responses(404, 409),
)
async def replay_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, actor: Admin
) -> DeliveryOut:
    delivery = await service.replay(session, actor, webhook_id, delivery_id, now=utc_now())
    return DeliveryOut.model_validate(delivery)
