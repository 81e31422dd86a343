from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, Field, StrictBool, StringConstraints

from app.api.schemas import RequestModel, ResponseModel

EventPattern = Annotated[
    str,
    StringConstraints(pattern=r"^(\*|[a-z][a-z_]{0,30}\.(\*|[a-z][a-z0-9_-]{0,50}))$"),
    Field(examples=["clock.breached", "complaint.*", "*"]),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Url = Annotated[AnyHttpUrl, Field(examples=["https://claims.example.internal/hooks/contact-desk"])]
EventTypes = Annotated[list[EventPattern], Field(min_length=1, max_length=50)]


class WebhookCreate(RequestModel):
    name: Name
    url: Url = Field(description="https; plain http only to a loopback address outside production.")
    event_types: EventTypes = Field(
        description="Exact types (`clock.breached`), every type of a kind (`complaint.*`, "
        "`clock.*`) or `*`. See `GET /v1/events` for the types."
    )
    active: StrictBool = True


class WebhookUpdate(RequestModel):
    name: Name | None = None
    url: Url | None = None
    event_types: EventTypes | None = None
    active: StrictBool | None = Field(
        default=None,
        description="Inactive: nothing is queued or sent. Reactivated, it receives the events "
        "that happened meanwhile (its place in the feed is kept).",
    )


class WebhookOut(ResponseModel):
    id: uuid.UUID
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    version: int


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret. Shown this once: store it with the receiver. Each "
        "delivery carries `X-ContactDesk-Timestamp` and `X-ContactDesk-Signature: v1=<hex>`, "
        "the HMAC-SHA256 of `timestamp + '.' + body` under this secret."
    )


class DeliveryOut(ResponseModel):
    id: uuid.UUID
    event_id: int
    event_type: str
    status: str = Field(examples=["pending", "delivered", "failed"])
    attempts: int = Field(description="Attempts since the delivery was created or replayed.")
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
