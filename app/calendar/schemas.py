from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from app.api.schemas import Day, RequestModel, ResponseModel
from app.calendar.arithmetic import DayKind

CALENDAR_CODE_PATTERN = r"^[A-Z][A-Z0-9_-]{1,31}$"
MAX_DAYS_RANGE = 366
"""The longest range ``GET …/days`` lists in one call."""
MAX_AMOUNT = 3660


class DayUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class NamedDate(RequestModel):
    date: Day
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        examples=["春节 Spring Festival"]
    )


class YearLoad(RequestModel):
    """A year's published schedule (the State Council notice, or a regional addition)."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="Where the schedule comes from (notice number, URL).",
        examples=["国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕X号)"],
    )
    days_off: Annotated[list[NamedDate], Field(max_length=366)] = Field(
        description="Rest days: holidays, including weekend days inside a holiday period."
    )
    makeup_workdays: Annotated[list[NamedDate], Field(max_length=366)] = Field(
        default_factory=list, description="Weekend days that are working days (调休)."
    )


class NamedDateOut(ResponseModel):
    date: dt.date
    name: str


class YearOut(ResponseModel):
    calendar_code: str
    year: int
    status: str
    source: str
    loaded_at: dt.datetime
    loaded_by: str
    version: int
    days_off: list[NamedDateOut]
    makeup_workdays: list[NamedDateOut]


class YearLoadOut(YearOut):
    calendar_version: int = Field(description="The calendar's version after this load.")
    clocks_recomputed: int = Field(description="Open clocks whose due date moved.")


class CalendarOut(ResponseModel):
    code: str
    name: str
    time_zone: str
    parent_code: str | None
    version: int
    years: list[int] = Field(description="Loaded (official) years; others are provisional.")


class DueDateOut(ResponseModel):
    start: dt.date
    amount: int
    unit: DayUnit
    roll_forward: bool
    due_date: dt.date
    due_at: dt.datetime = Field(description="24:00 local time on the due date, in UTC.")
    provisional: bool = Field(description="True if the count reaches into an unloaded year.")
    calendar_version: int


class DayOut(ResponseModel):
    date: dt.date
    working: bool
    kind: DayKind | None
    name: str | None


class DaysOut(ResponseModel):
    calendar_code: str
    calendar_version: int
    days: list[DayOut]


class WorkingDaysOut(ResponseModel):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    working_days: int = Field(description="Working days from `from` to `to`, both included.")
    provisional: bool
    calendar_version: int
