from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from app.access.deps import require
from app.access.permissions import Permission
from app.access.principal import Principal
from app.api.deps import SessionDep
from app.api.etag import ANY_VERSION, ExpectedVersion, optional_if_match, set_etag
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.api.schemas import Day
from app.calendar import service
from app.calendar.arithmetic import SPAN_END, SPAN_START
from app.calendar.schemas import (
    CALENDAR_CODE_PATTERN,
    MAX_AMOUNT,
    CalendarOut,
    DayOut,
    DaysOut,
    DayUnit,
    DueDateOut,
    NamedDateOut,
    WorkingDaysOut,
    YearLoad,
    YearLoadOut,
    YearOut,
)
from app.clocks.recompute import recompute_for_calendar_change
from app.core.clock import utc_now

router = APIRouter(
    prefix="/v1/calendars",
    tags=["calendars"],
    route_class=TransactionalRoute,
    dependencies=[Depends(require(Permission.CALENDAR_READ))],
    responses=problem_responses(401, 403, 429),
)

CodePath = Annotated[str, Path(pattern=CALENDAR_CODE_PATTERN, examples=["CN"])]
YearPath = Annotated[int, Path(ge=SPAN_START.year, le=SPAN_END.year)]
FromQuery = Annotated[Day, Query(alias="from", description="First date (included).")]
ToQuery = Annotated[Day, Query(alias="to", description="Last date (included).")]

CalendarWriter = Annotated[Principal, Depends(require(Permission.CALENDAR_WRITE))]


@router.get(
    "/{code}",
    response_model=CalendarOut,
    operation_id="getCalendar",
    summary="Get a calendar and its loaded years",
    responses=problem_responses(404),
)
async def get_calendar(code: CodePath, session: SessionDep, response: Response) -> CalendarOut:
    calendar, years = await service.get_calendar(session, code)
    set_etag(response, calendar.version)
    return CalendarOut(
        code=calendar.code,
        name=calendar.name,
        time_zone=calendar.time_zone,
        parent_code=calendar.parent_code,
        version=calendar.version,
        years=years,
    )


def _year_out(detail: service.YearDetail) -> YearOut:
    year = detail.year
    return YearOut(
        calendar_code=year.calendar_code,
        year=year.year,
        status=year.status,
        source=year.source,
        loaded_at=year.loaded_at,
        loaded_by=year.loaded_by,
        version=year.version,
        days_off=[NamedDateOut(date=d.date, name=d.name) for d in detail.days if not d.working],
        makeup_workdays=[NamedDateOut(date=d.date, name=d.name) for d in detail.days if d.working],
    )


@router.get(
    "/{code}/years/{year}",
    response_model=YearOut,
    operation_id="getCalendarYear",
    summary="Get a loaded year: its days off and make-up working days",
    responses=problem_responses(404),
)
async def get_year(
    code: CodePath, year: YearPath, session: SessionDep, response: Response
) -> YearOut:
    detail = await service.get_year(session, code, year)
    set_etag(response, detail.year.version)
    return _year_out(detail)


@router.put(
    "/{code}/years/{year}",
    response_model=YearLoadOut,
    operation_id="loadCalendarYear",
    summary="Load or correct a year; recomputes every open clock that depends on it",
    responses=problem_responses(404, 412),
)
async def load_year(
    code: CodePath,
    year: YearPath,
    body: YearLoad,
    session: SessionDep,
    response: Response,
    actor: CalendarWriter,
    expected: Annotated[ExpectedVersion, Depends(optional_if_match)],
) -> YearLoadOut:
    detail, calendar_version, moved = await service.load_year(
        session,
        code,
        year,
        body,
        now=utc_now(),
        actor=actor.actor,
        expected_version=None if expected == ANY_VERSION else expected,
        on_change=recompute_for_calendar_change,
    )
    set_etag(response, detail.year.version)
    return YearLoadOut(
        **_year_out(detail).model_dump(),
        calendar_version=calendar_version,
        clocks_recomputed=moved,
    )


@router.get(
    "/{code}/due-date",
    response_model=DueDateOut,
    operation_id="computeDueDate",
    summary="The due date N working or calendar days after a start date",
    responses=problem_responses(404),
)
async def due_date(
    code: CodePath,
    session: SessionDep,
    start: Annotated[Day, Query(description="Start date (local); it is not counted.")],
    amount: Annotated[int, Query(ge=0, le=MAX_AMOUNT)],
    unit: Annotated[DayUnit, Query()],
    roll_forward: Annotated[
        bool, Query(description="Calendar days: a rest day moves to the next working day.")
    ] = True,
) -> DueDateOut:
    due = await service.due_date(
        session, code, start=start, amount=amount, unit=unit, roll_forward=roll_forward
    )
    return DueDateOut(
        start=due.start,
        amount=due.amount,
        unit=due.unit,
        roll_forward=due.roll_forward,
        due_date=due.due_date,
        due_at=due.due_at,
        provisional=due.provisional,
        calendar_version=due.calendar_version,
    )


@router.get(
    "/{code}/days",
    response_model=DaysOut,
    operation_id="listCalendarDays",
    summary="Each date of a range (at most 366 days): working or not, and why",
    responses=problem_responses(404),
)
async def list_days(
    code: CodePath, session: SessionDep, first: FromQuery, last: ToQuery
) -> DaysOut:
    view, days = await service.list_days(session, code, first, last)
    return DaysOut(
        calendar_code=view.code,
        calendar_version=view.version,
        days=[DayOut(date=d.date, working=d.working, kind=d.kind, name=d.name) for d in days],
    )


@router.get(
    "/{code}/working-days",
    response_model=WorkingDaysOut,
    operation_id="countWorkingDays",
    summary="How many working days a date range holds (both ends included)",
    responses=problem_responses(404),
)
async def count_working_days(
    code: CodePath, session: SessionDep, first: FromQuery, last: ToQuery
) -> WorkingDaysOut:
    view, count, provisional = await service.count_working_days(session, code, first, last)
    return WorkingDaysOut(
        from_=first,
        to=last,
        working_days=count,
        provisional=provisional,
        calendar_version=view.version,
    )
