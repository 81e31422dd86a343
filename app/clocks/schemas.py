from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from app.api.schemas import Day, RequestModel, ResponseModel
from app.clocks.states import SubjectKind, Unit

DefinitionName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    Field(examples=["C2_supplement_or_confirm"]),
]
EventName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
    Field(examples=["complaint_received"]),
]


class ClockDefinitionIn(RequestModel):
    name: DefinitionName
    subject_kind: SubjectKind
    amount: int = Field(
        ge=0, le=3660, description="The limit; 0 (calendar days only): given when it starts."
    )
    unit: Unit
    start_event: EventName
    stop_events: Annotated[list[EventName], Field(min_length=1, max_length=20)]
    roll_forward: StrictBool = Field(
        default=True, description="Calendar days: a due date on a rest day moves forward."
    )
    warning_lead_working_days: int = Field(
        default=0, ge=0, le=60, description="Warn this many working days before due; 0: never."
    )
    extensions: Annotated[list[int], Field(max_length=10)] = Field(
        default_factory=list, description="Longer limits an extension may grant; empty: any."
    )
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class RuleSetIn(RequestModel):
    version: int = Field(ge=1, le=1_000_000, description="A version number not used before.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    effective_from: Day = Field(description="Clocks started from this date use it.")
    definitions: Annotated[list[ClockDefinitionIn], Field(min_length=1, max_length=200)]


class ClockDefinitionOut(ResponseModel):
    name: str
    subject_kind: SubjectKind
    amount: int
    unit: Unit
    start_event: str
    stop_events: list[str]
    roll_forward: bool
    warning_lead_working_days: int
    extensions: list[int]
    description: str


class RuleSetOut(ResponseModel):
    version: int
    name: str
    effective_from: dt.date
    created_at: dt.datetime
    created_by: str
    definitions: list[ClockDefinitionOut]
