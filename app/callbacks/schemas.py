"""Request and response bodies of the callback API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.api.schemas import Instant, RequestModel, ResponseModel

Kind = Literal[
    "satisfaction",
    "mis_selling_check",
    "complaint_followup",
    "risk_service",
    "consumer_protection",
    "new_policy",
    "claim_paid",
    "ivr_request",
]
MethodName = Literal["phone", "sms_questionnaire", "online_questionnaire", "on_site"]
AttemptOutcomeName = Literal["reached", "no_answer", "busy", "wrong_number", "refused", "voicemail"]
StateName = Literal[
    "scheduled", "in_progress", "rescheduled", "completed", "unreachable", "cancelled"
]
TicketKind = Literal["complaint", "inquiry", "claim_report", "callback"]
GroupBy = Literal["team", "agent", "kind"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=32)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
AnswerText = Annotated[str, StringConstraints(max_length=2000)]
PolicyNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")]
# A wall-clock time in the business time zone. JSON Schema's "time" format is RFC 3339's
# full-time, which requires an offset, so pydantic's default schema would refuse "09:00:00".
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "Local time (Asia/Shanghai), HH:MM:SS, no offset.",
        }
    ),
]


class CustomerIn(RequestModel):
    name: Name
    phones: list[Phone] = Field(min_length=1, max_length=5, description="Any format.")


class TicketRef(RequestModel):
    kind: TicketKind
    id: uuid.UUID


class CallbackCreate(RequestModel):
    kind: Kind
    customer: CustomerIn
    ticket: TicketRef | None = Field(default=None, description="The ticket it concerns.")
    policy_number: PolicyNumber | None = Field(default=None, description="…or the policy.")
    branch_id: uuid.UUID | None = Field(default=None, description="Defaults to yours.")
    team_id: uuid.UUID | None = Field(
        default=None, description="Route it to one team's queue (a team of the branch)."
    )
    not_before: Instant | None = Field(default=None, description="Defaults to now.")
    due_at: Instant
    priority: int = Field(default=3, ge=1, le=5, description="1 is the most urgent.")
    note: LongText | None = None

    @model_validator(mode="after")
    def _concerns_something(self) -> CallbackCreate:
        if self.ticket is None and self.policy_number is None:
            raise ValueError("a callback concerns a ticket or a policy_number")
        return self


Answer = StrictBool | StrictInt | AnswerText


class CompletionIn(RequestModel):
    answers: dict[Annotated[str, StringConstraints(max_length=64)], Answer] = Field(
        default_factory=dict,
        max_length=50,
        description="Item code → answer (yes/no: true/false; score: 1–5; text).",
    )
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    problem_found: StrictBool = False
    problem_description: LongText | None = None

    @model_validator(mode="after")
    def _problem_described(self) -> CompletionIn:
        if self.problem_found and not self.problem_description:
            raise ValueError("problem_found needs problem_description")
        return self


class AttemptIn(RequestModel):
    method: MethodName
    outcome: AttemptOutcomeName
    started_at: Instant | None = Field(default=None, description="Defaults to ended_at.")
    ended_at: Instant | None = Field(default=None, description="Defaults to now.")
    notes: LongText | None = None
    recording_ref: ShortText | None = None
    completion: CompletionIn | None = Field(
        default=None, description="Required when the customer was reached: the written record."
    )

    @model_validator(mode="after")
    def _completion_when_reached(self) -> AttemptIn:
        if (self.outcome == "reached") != (self.completion is not None):
            raise ValueError("completion is required for, and only for, a reached customer")
        return self


class Release(RequestModel):
    reason: ShortText | None = None


class Cancel(RequestModel):
    reason: LongText


class CustomerOut(ResponseModel):
    name: str | None
    phones: list[str]
    revealed: list[str] = Field(description="Which fields are shown in clear (audited).")


class AttemptOut(ResponseModel):
    number: int
    method: str
    outcome: str
    agent_id: uuid.UUID | None
    started_at: datetime
    ended_at: datetime
    notes: str | None
    recording_ref: str | None


class CompletionOut(ResponseModel):
    outcome: str
    questionnaire_code: str | None
    answers: dict[str, object]
    satisfaction: int | None
    problem_found: bool
    problem_description: str | None
    follow_up_id: uuid.UUID | None
    recorded_at: datetime


class CallbackClockOut(ResponseModel):
    name: str
    started_at: datetime
    due_at: datetime
    breached_at: datetime | None
    outcome: str | None
    stopped_at: datetime | None


class CallbackOut(ResponseModel):
    id: uuid.UUID
    number: str
    kind: str
    state: str
    version: int
    origin: str
    branch_id: uuid.UUID
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    held_until: datetime | None
    customer: CustomerOut
    ticket_kind: str | None
    ticket_id: uuid.UUID | None
    policy_number: str | None
    source_ref: str | None
    not_before: datetime
    due_at: datetime
    priority: int
    note: str | None
    current_method: str = Field(description="The method the next attempt should use.")
    attempts_on_method: int
    attempts_made: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    outcome: str | None
    closed_at: datetime | None
    attempts: list[AttemptOut]
    completion: CompletionOut | None
    clocks: list[CallbackClockOut]
    created_at: datetime
    updated_at: datetime


class CallbackSummary(ResponseModel):
    id: uuid.UUID
    number: str
    kind: str
    state: str
    version: int = Field(description="For If-Match when acting from a list.")
    branch_id: uuid.UUID
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    customer_name: str | None
    due_at: datetime
    priority: int
    next_attempt_at: datetime
    outcome: str | None


class CallbackAction(ResponseModel):
    action: str
    method: Literal["POST"] = "POST"
    href: str
    target_states: list[str]


class StepOut(ResponseModel):
    method: str
    attempts: int


class QuestionItemOut(ResponseModel):
    code: str
    text: str
    type: str
    required: bool
    expect: bool | None = Field(default=None, description="A confirmation's expected answer.")


class QuestionnaireOut(ResponseModel):
    code: str
    title: str
    satisfaction_required: bool
    items: list[QuestionItemOut]


class ContactPolicyOut(ResponseModel):
    kind: str
    steps: list[StepOut]
    spacing_minutes: int
    callable_from: LocalTime
    callable_to: LocalTime
    working_days_only: bool
    description: str
    questionnaire: QuestionnaireOut


class SuccessRateRow(ResponseModel):
    group: str | None = Field(description="Team id, agent id or kind; null: none assigned.")
    due: int = Field(description="Callbacks due in the period (cancelled ones excluded).")
    reached: int
    refused: int
    unreachable: int
    open: int
    completed_on_time: int = Field(description="Reached no later than due_at.")
    success_rate: float | None = Field(description="reached / due; null when nothing was due.")
    on_time_rate: float | None = Field(description="completed_on_time / due.")


class SuccessRateOut(ResponseModel):
    period_from: date
    period_to: date
    group_by: str
    rows: list[SuccessRateRow]
    total: SuccessRateRow
