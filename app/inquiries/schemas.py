"""Request and response bodies of the inquiry API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StringConstraints

from app.api.schemas import Instant, RequestModel, ResponseModel
from app.complaints.schemas import ClockOut, Complainant, ProductLine

Channel = Literal["hotline", "online", "fax", "letter", "walk_in", "email"]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=32)]
PolicyNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")]
Item = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class InquiryCreate(RequestModel):
    channel: Channel
    received_at: Instant | None = Field(
        default=None, description="When the inquiry was received; defaults to now."
    )
    received_at_reason: ShortText | None = Field(
        default=None, description="Required when received_at is back-dated by over 30 minutes."
    )
    caller_phone: Phone | None = Field(
        default=None, description="Any format; links (or creates) the customer with this phone."
    )
    customer_id: uuid.UUID | None = None
    policy_number: PolicyNumber | None = None
    product_line: ProductLine | None = Field(
        default=None, description="Defaults to the policy's, else 'other'."
    )
    question: LongText
    answer: LongText | None = Field(
        default=None,
        description="Answered in this contact: the inquiry is created answered (first-contact"
        " resolution) and no answer clock runs.",
    )
    branch_id: uuid.UUID | None = Field(default=None, description="Defaults to yours.")


class Answer(RequestModel):
    answer: LongText
    answered_at: Instant | None = Field(default=None, description="Defaults to now.")


class Defer(RequestModel):
    reason: LongText | None = None


class Close(RequestModel):
    note: LongText | None = None


class ConvertToComplaint(RequestModel):
    """The complaint to register from this inquiry (channel, policy and branch are the
    inquiry's; the description defaults to the inquiry's question)."""

    complainant: Complainant
    cause_code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    product_line: ProductLine | None = None
    description: LongText | None = None
    remedy_requested: LongText | None = None
    materials_received: list[Item] = Field(default_factory=list, max_length=100)
    materials_complete: StrictBool = False
    received_at: Instant | None = Field(
        default=None,
        description="When the complaint was made; defaults to now (give the inquiry's receipt"
        " time, with a reason, if the caller complained in that contact).",
    )
    received_at_reason: ShortText | None = None


class InquiryOut(ResponseModel):
    id: uuid.UUID
    number: str
    status: str
    version: int
    branch_id: uuid.UUID
    channel: str
    received_at: datetime
    registered_by: str
    customer_id: uuid.UUID | None
    policy_id: uuid.UUID | None
    policy_number: str | None
    product_line: str
    question: str
    answer: str | None
    first_contact_resolution: bool
    answered_at: datetime | None
    answered_by: str | None
    closed_at: datetime | None
    converted_complaint_id: uuid.UUID | None
    rule_set_version: int
    clocks: list[ClockOut]
    created_at: datetime
    updated_at: datetime


class InquirySummary(ResponseModel):
    id: uuid.UUID
    number: str
    status: str
    branch_id: uuid.UUID
    channel: str
    product_line: str
    customer_id: uuid.UUID | None
    policy_number: str | None
    received_at: datetime
    first_contact_resolution: bool
