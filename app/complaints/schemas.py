"""Request and response bodies of the complaint API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StringConstraints, model_validator

from app.api.schemas import Day, Instant, RequestModel, ResponseModel

Channel = Literal["hotline", "online", "fax", "letter", "walk_in", "email", "regulator_referral"]
ProductLine = Literal[
    "motor",
    "property",
    "life",
    "health",
    "accident",
    "liability",
    "agriculture",
    "credit_guarantee",
    "other",
]
Relation = Literal["policyholder", "insured", "beneficiary", "authorised_agent"]
NoticeKind = Literal[
    "supplement",
    "acceptance",
    "refusal",
    "extension",
    "pause",
    "decision",
    "review_decision",
    "regulator_report",
]
NoticeMode = Literal["written", "post", "sms", "email", "phone"]
Delivery = Literal["pending", "sent", "delivered", "failed"]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Item = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=32)]
CauseCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class Complainant(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    phones: list[Phone] = Field(min_length=1, max_length=5)
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,30}$")] | None = None
    relation: Relation
    authorisation_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = (
        Field(default=None, description="Required when relation is authorised_agent.")
    )

    @model_validator(mode="after")
    def _agent_needs_authorisation(self) -> Complainant:
        if self.relation == "authorised_agent" and not self.authorisation_ref:
            raise ValueError("an authorised agent needs authorisation_ref")
        return self


class RegulatorReferral(RequestModel):
    reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    reply_by: Day = Field(description="The forwarding regulator's own reply-by date (C11).")


class ComplaintCreate(RequestModel):
    channel: Channel
    received_at: Instant | None = Field(
        default=None, description="When the complaint was received; defaults to now."
    )
    received_at_reason: ShortText | None = Field(
        default=None, description="Required when received_at is back-dated (audited)."
    )
    complainant: Complainant
    policy_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")] | None = None
    product_line: ProductLine
    cause_code: CauseCode
    description: LongText
    remedy_requested: LongText | None = None
    materials_received: list[Item] = Field(default_factory=list, max_length=100)
    materials_complete: StrictBool = Field(
        default=False,
        description="true: materials are complete on receipt (acceptance clock C3 starts);"
        " false: the 5-working-day supplement clock C2 runs.",
    )
    branch_id: uuid.UUID | None = Field(default=None, description="Defaults to yours.")
    regulator: RegulatorReferral | None = None

    @model_validator(mode="after")
    def _referral_needs_regulator(self) -> ComplaintCreate:
        if (self.channel == "regulator_referral") != (self.regulator is not None):
            raise ValueError("regulator is required for, and only for, regulator_referral")
        return self


class NoticeIn(RequestModel):
    mode: NoticeMode
    delivery: Delivery = "sent"
    sent_at: Instant | None = Field(default=None, description="Defaults to now.")
    proof_ref: Annotated[str, StringConstraints(max_length=200)] | None = None
    template_id: Annotated[str, StringConstraints(max_length=100)] | None = None
    content: LongText | None = None


class RequestMaterials(RequestModel):
    missing: list[Item] = Field(min_length=1, max_length=100, description="Everything missing.")
    notice: NoticeIn


class ReceiveMaterials(RequestModel):
    received: list[Item] = Field(min_length=1, max_length=100)
    still_missing: list[Item] = Field(default_factory=list, max_length=100)
    received_at: Instant | None = None


class Accept(RequestModel):
    notice: NoticeIn


class Reject(RequestModel):
    ground: Literal["not_consumer_or_agent", "duplicate_in_handling", "already_decided"] = Field(
        description="Rule C4."
    )
    explanation: LongText
    notice: NoticeIn


class Transfer(RequestModel):
    target_kind: Literal["external_unit", "internal_department"]
    target_name: ShortText
    reason: LongText


class Merge(RequestModel):
    into_complaint_id: uuid.UUID
    with_new_facts: StrictBool
    new_materials_received_at: Instant | None = Field(
        default=None, description="With new facts: restart the original's handling clock here."
    )


class Extend(RequestModel):
    to_days: Literal[30, 60]
    reason: LongText
    approver: ShortText | None = Field(default=None, description="Required for 60 days.")
    notice: NoticeIn | None = Field(default=None, description="Required for 60 days.")


class Pause(RequestModel):
    kind: Literal["appraisal", "mediation"]
    reason: LongText
    notice: NoticeIn


class Resume(RequestModel):
    reason: LongText | None = None


class Decide(RequestModel):
    findings: LongText
    reasons: LongText
    remedies: list[Annotated[str, StringConstraints(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=50
    )


class Notify(NoticeIn):
    kind: NoticeKind
    received_on: Day | None = Field(
        default=None,
        description="Decision notices: the day the complainant received it (the review window"
        " counts from it); defaults to the day it was sent.",
    )


class Withdraw(RequestModel):
    received_at: Instant | None = None
    reason: LongText | None = None


class RequestReview(RequestModel):
    requested_at: Instant | None = None
    reason: LongText


class DecideReview(RequestModel):
    outcome: Literal["upheld", "amended", "overturned"]
    findings: LongText
    notice: NoticeIn


class Close(RequestModel):
    note: LongText | None = None


class Assign(RequestModel):
    assignee_id: uuid.UUID


_NOT_NULL = ("complainant_name", "phones", "relation")


class CorrectDetails(RequestModel):
    """Only the fields given are changed; ``null`` clears an optional one. The cause and product
    line are changed by ``reclassify``; the channel, the branch and the receipt time the clocks
    count from are not corrected."""

    reason: ShortText
    complainant_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    phones: list[Phone] | None = Field(
        default=None, min_length=1, max_length=5, description="Replaces every phone."
    )
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,30}$")] | None = None
    relation: Relation | None = None
    authorisation_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = (
        Field(default=None, description="Required while the relation is authorised_agent.")
    )
    policy_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")] | None = None
    remedy_requested: LongText | None = None

    @model_validator(mode="after")
    def _something_to_correct(self) -> CorrectDetails:
        given = self.model_fields_set - {"reason"}
        if not given:
            raise ValueError("give at least one detail to correct besides the reason")
        cleared = [name for name in _NOT_NULL if name in given and getattr(self, name) is None]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be cleared, only replaced")
        return self


class Reclassify(RequestModel):
    """The cause and product line the complaint statistics count it under (rule C12); only the
    fields given are changed. The statistics of every period move with it: the complaint counts
    once, under its classification of now."""

    reason: ShortText
    cause_code: CauseCode | None = Field(
        default=None, description="An active cause (GET /v1/complaints/causes)."
    )
    product_line: ProductLine | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Reclassify:
        if self.cause_code is None and self.product_line is None:
            raise ValueError("give cause_code, product_line or both")
        return self


class ClockOut(ResponseModel):
    name: str
    state: Literal["running", "paused", "stopped"]
    started_at: datetime
    due_date: date
    due_at: datetime
    provisional: bool
    breached: bool
    breached_at: datetime | None
    outcome: str | None
    stopped_at: datetime | None


class ComplainantOut(ResponseModel):
    name: str
    phones: list[str]
    id_number: str | None
    relation: str
    authorisation_ref: str | None
    revealed: list[str] = Field(description="Which fields are shown in clear (audited).")


class NoticeOut(ResponseModel):
    id: uuid.UUID
    kind: str
    mode: str
    delivery: str
    sent_at: datetime
    counted: bool
    proof_ref: str | None


class ComplaintOut(ResponseModel):
    id: uuid.UUID
    number: str
    status: str
    version: int
    branch_id: uuid.UUID
    assignee_id: uuid.UUID | None
    channel: str
    received_at: datetime
    complainant: ComplainantOut
    policy_number: str | None
    product_line: str
    cause_code: str
    description: str
    remedy_requested: str | None
    materials_received: list[str]
    materials_missing: list[str]
    regulator_ref: str | None
    regulator_reply_by: date | None
    handling_limit_days: int
    merged_into_id: uuid.UUID | None
    outcome: dict[str, object]
    decided_at: datetime | None
    decision_received_on: date | None
    closed_at: datetime | None
    rule_set_version: int
    clocks: list[ClockOut]
    notices: list[NoticeOut]
    created_at: datetime
    updated_at: datetime


class ComplaintSummary(ResponseModel):
    id: uuid.UUID
    number: str
    status: str
    branch_id: uuid.UUID
    assignee_id: uuid.UUID | None
    channel: str
    product_line: str
    cause_code: str
    received_at: datetime
    complainant_name: str


class AllowedAction(ResponseModel):
    action: str
    method: Literal["POST"] = "POST"
    href: str
    target_status: str


class TimelineEvent(ResponseModel):
    id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    request_id: str | None
    data: dict[str, object]
