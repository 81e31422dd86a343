"""Bodies of the IVR API: a finished call in, an answer the IVR can read to the caller out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from app.api.schemas import Instant, RequestModel, ResponseModel

Intent = Literal["inquiry", "claim_report", "complaint", "callback_request", "status_query"]
TicketKind = Literal["inquiry", "claim_report", "complaint", "callback"]


class IvrCallIn(RequestModel):
    call_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")] = Field(
        description="Unique per IVR system (per API key); a retry sends the same id and body."
    )
    caller_number: Annotated[str, StringConstraints(min_length=3, max_length=32)] = Field(
        description="Any format: +86 138 0013 8000, 138-0013-8000, 008613800138000."
    )
    called_number: Annotated[str, StringConstraints(pattern=r"^[0-9+*#-]{3,32}$")] = Field(
        description="The hotline number dialled."
    )
    started_at: Instant
    ended_at: Instant | None = None
    menu_path: Annotated[str, StringConstraints(pattern=r"^[0-9*#]{0,64}$")] = Field(
        default="", description="The DTMF digits pressed, in order."
    )
    intent: Intent
    policy_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")] | None = None
    id_digits: Annotated[str, StringConstraints(pattern=r"^[0-9]{3,5}[0-9Xx]$")] | None = Field(
        default=None,
        description="The last 4–6 characters of the caller's ID number (stored as a keyed hash).",
    )
    recording_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    transcript: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> IvrCallIn:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class DueOut(ResponseModel):
    clock: str
    due_date: date
    due_at: datetime
    provisional: bool
    overdue: bool
    text: str = Field(description="In plain words, for an agent or the IVR to read out.")


class OpenItem(ResponseModel):
    kind: Literal["inquiry", "claim_report", "complaint", "callback"]
    id: uuid.UUID
    number: str
    status: str
    status_text: str
    branch_id: uuid.UUID
    received_at: datetime = Field(description="When it was received (a callback: scheduled).")
    next_due: DueOut | None


class TicketRef(ResponseModel):
    kind: TicketKind
    id: uuid.UUID
    number: str
    status: str
    due_date: date | None = Field(description="The date by which the caller hears from us.")


class IvrCallOut(ResponseModel):
    call_id: str
    intent: Intent
    outcome: Literal["ticket_created", "status_reported", "callback_requested"]
    replayed: bool = Field(description="true: a retry of a call already processed.")
    customer_id: uuid.UUID
    ticket: TicketRef | None
    open_items: list[OpenItem] = Field(description="status_query: the caller's open items.")
    speech: str = Field(description="Chinese text for the IVR to read to the caller.")


class CallerOut(ResponseModel):
    phone: str = Field(description="Masked.")
    customer_id: uuid.UUID | None
    customer_name: str | None = Field(description="Masked; null when not identified yet.")
    items: list[OpenItem]
    speech: str


class PolicyCallerOut(ResponseModel):
    policy_number: str
    product_line: str | None
    branch_id: uuid.UUID | None
    holder_name: str | None = Field(description="Masked.")
    items: list[OpenItem]
    speech: str
