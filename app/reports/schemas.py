from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.clocks.states import ClockState, Unit
from app.reports.periods import GroupBy, Period, StatisticsBy


class TicketRef(BaseModel):
    kind: str = Field(examples=["complaint"])
    id: uuid.UUID
    number: str
    status: str = Field(description="The ticket's current status (e.g. `closed`).")


class ClockRef(BaseModel):
    id: uuid.UUID
    name: str
    unit: Unit
    amount: int
    state: ClockState = Field(description="The clock's current state.")
    outcome: str | None = Field(description="`met`, `met_late` or `cancelled` once stopped.")


class Assignment(BaseModel):
    branch_id: uuid.UUID
    branch_code: str | None
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    product_line: str | None
    cause: str | None
    channel: str | None


class BreachRow(Assignment):
    ticket: TicketRef
    clock: ClockRef
    due_date: dt.date
    due_at: dt.datetime
    provisional: bool
    breached_at: dt.datetime
    late_by: int = Field(
        description="How late, in the clock's unit, up to its stop (or now while it runs): "
        "working days after the due date (statutory calendar), calendar days, or started hours."
    )
    late_unit: Unit


class AtRiskRow(Assignment):
    ticket: TicketRef
    clock: ClockRef
    due_date: dt.date
    due_at: dt.datetime
    provisional: bool
    overdue: bool = Field(description="Past due, the breach not recorded yet by the sweeper.")
    hours_left: float = Field(description="Until the due instant (negative when overdue).")
    working_days_left: int | None = Field(
        description="Working days after today up to the due date (0: due today); null for "
        "hour clocks."
    )


class ClockRate(BaseModel):
    ticket_kind: str
    clock_name: str
    settled: int = Field(description="Clocks whose outcome was decided in the bucket.")
    met: int
    late: int
    on_time_rate: float | None = Field(description="met / settled; null when none settled.")


class IndicatorRow(BaseModel):
    period_start: dt.date = Field(description="First day of the bucket (weeks start Monday).")
    group: str | None = Field(description="The group's value (an id or a code); null ungrouped.")
    group_label: str | None = Field(description="The branch or team code, when grouped by one.")
    clocks: list[ClockRate]
    complaint_handling_on_time_rate: float | None = Field(
        description="投诉件办理及时率: the on-time rate of C7_handling_decision."
    )
    decisions_notified: int = Field(
        description="Complaints whose decision was notified in the bucket."
    )
    average_handling_working_days: float | None = Field(
        description="Mean working days from receipt to the decision notice, over those."
    )
    first_contact_resolution_rate: float | None = Field(
        description="Inquiries resolved in the first contact / inquiries answered in the "
        "bucket; null when none was answered."
    )
    callback_success_rate: float | None = Field(
        description="Callbacks that reached the customer / callbacks ended (reached, refused "
        "or unreachable) in the bucket; null when none ended."
    )


class ServiceIndicators(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: dt.date = Field(alias="from")
    to: dt.date
    period: Period
    group_by: GroupBy | None
    rows: list[IndicatorRow]
    definitions: dict[str, str]


class Denominators(BaseModel):
    premium_100m_yuan: float | None = None
    policies_10k: float | None = None
    persons_10k: float | None = None


class ComplaintRates(BaseModel):
    per_100m_yuan_premium: float | None = Field(description="Complaints per ¥100m of premium.")
    per_10k_policies: float | None = Field(description="Complaints per 10,000 policies.")
    per_10k_persons: float | None = Field(description="Complaints per 10,000 persons insured.")


class StatisticsCell(BaseModel):
    cause: str | None = None
    product_line: str | None = None
    channel: str | None = None
    branch_id: uuid.UUID | None = None
    branch_code: str | None = None
    count: int


class Subtotal(BaseModel):
    value: str | None
    label: str | None = None
    count: int


class ComplaintStatistics(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: dt.date = Field(alias="from")
    to: dt.date
    by: list[StatisticsBy]
    total: int = Field(description="Complaints received in the period (every status).")
    denominators: Denominators
    rates: ComplaintRates
    cells: list[StatisticsCell] = Field(description="One per combination of `by` with any.")
    subtotals: dict[str, list[Subtotal]] = Field(
        description="Per dimension of `by` alone, largest first (the regulator's rankings)."
    )
