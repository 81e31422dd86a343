"""Request and response bodies of the claim report API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, WithJsonSchema, model_validator

from app.api.schemas import Instant, RequestModel, ResponseModel
from app.claims.states import Decision, Event
from app.complaints.schemas import ClockOut, ProductLine

Channel = Literal["hotline", "online", "walk_in", "agent_app", "email"]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=32)]
PolicyNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")]
ClaimNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")]
Item = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Yuan with fen: at most 12 digits before the point and 2 after. Pydantic's own schema of a
# constrained Decimal drops max_digits and decimal_places, so it is written out here.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 999_999_999_999.99, "multipleOf": 0.01},
                {"type": "string", "pattern": r"^\d{1,12}(\.\d{1,2})?$"},
            ],
            "description": "Yuan, up to two decimal places (a decimal string is exact).",
        },
        mode="validation",
    ),
]


class ClaimReportCreate(RequestModel):
    channel: Channel
    reported_at: Instant | None = Field(default=None, description="Defaults to now.")
    reported_at_reason: ShortText | None = Field(
        default=None, description="Required when reported_at is back-dated by over 30 minutes."
    )
    caller_phone: Phone | None = Field(
        default=None, description="Any format; links (or creates) the customer with this phone."
    )
    customer_id: uuid.UUID | None = None
    policy_number: PolicyNumber | None = None
    product_line: ProductLine | None = Field(
        default=None, description="Defaults to the policy's, else 'other'."
    )
    incident_at: Instant | None = None
    description: LongText | None = None
    branch_id: uuid.UUID | None = Field(default=None, description="Defaults to yours.")


# What each event must carry.
_REQUIRED: dict[Event, tuple[str, ...]] = {
    Event.HANDED_OFF: ("claim_number",),
    Event.DOCUMENTS_REQUESTED: ("missing_documents",),
    Event.DECIDED: ("decision",),
    Event.AGREEMENT_REACHED: ("amount",),
    Event.PAID: ("amount",),
    Event.ADVANCE_PAID: ("amount",),
}


class StatusPush(RequestModel):
    """One milestone from the claims system."""

    event: Event
    occurred_at: Instant | None = Field(
        default=None, description="When it happened in the claims system; defaults to now."
    )
    claim_number: ClaimNumber | None = Field(default=None, description="handed_off")
    missing_documents: list[Item] = Field(
        default_factory=list,
        max_length=100,
        description="documents_requested: everything missing, in one notice.",
    )
    decision: Decision | None = Field(default=None, description="decided")
    reason: LongText | None = Field(
        default=None, description="decided (declined: required, the refusal's reason); cancelled"
    )
    amount: Amount | None = Field(
        default=None, description="agreement_reached (agreed), advance_paid, paid"
    )

    @model_validator(mode="after")
    def _event_fields(self) -> StatusPush:
        for name in _REQUIRED.get(self.event, ()):
            if not getattr(self, name):
                raise ValueError(f"{self.event.value} needs {name}")
        if self.decision is Decision.DECLINED and not self.reason:
            raise ValueError("a declined decision needs its reason")
        return self


class ClaimReportOut(ResponseModel):
    id: uuid.UUID
    number: str
    status: str
    version: int
    branch_id: uuid.UUID
    channel: str
    reported_at: datetime
    registered_by: str
    customer_id: uuid.UUID | None
    policy_id: uuid.UUID | None
    policy_number: str | None
    product_line: str
    incident_at: datetime | None
    description: str | None
    claim_number: str | None
    missing_documents: list[str]
    documents_complete_at: datetime | None
    decision: str | None
    decision_reason: str | None
    decided_at: datetime | None
    advance_paid_at: datetime | None
    agreed_amount: Decimal | None
    agreement_at: datetime | None
    paid_amount: Decimal | None
    paid_at: datetime | None
    closed_at: datetime | None
    rule_set_version: int
    clocks: list[ClockOut]
    created_at: datetime
    updated_at: datetime


class ClaimReportSummary(ResponseModel):
    id: uuid.UUID
    number: str
    status: str
    branch_id: uuid.UUID
    channel: str
    product_line: str
    customer_id: uuid.UUID | None
    policy_number: str | None
    claim_number: str | None
    reported_at: datetime


class AllowedEvent(ResponseModel):
    event: str
    method: Literal["POST"] = "POST"
    href: str
    target_status: str
