"""Supervisor views (``/v1/sla``) and reports (``/v1/reports``): JSON, or CSV when the request
says ``Accept: text/csv``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.access.deps import require
from app.access.permissions import Permission
from app.access.principal import Principal
from app.api.deps import SessionDep
from app.api.pagination import Page, PageParams, encode_cursor, page_params
from app.api.problems import problem_responses
from app.api.routing import TransactionalRoute
from app.api.schemas import Day, Instant
from app.core.clock import utc_now
from app.reports import exports, indicators, service, statistics
from app.reports.periods import GroupBy, Period, StatisticsBy
from app.reports.repository import TicketFilter
from app.reports.schemas import (
    AtRiskRow,
    BreachRow,
    ComplaintStatistics,
    Denominators,
    ServiceIndicators,
)

Reader = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
TicketKind = Literal["complaint", "inquiry", "claim_report", "callback"]
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}
PROBLEMS = problem_responses(401, 403, 422, 429)

sla_router = APIRouter(
    prefix="/v1/sla", tags=["supervision"], route_class=TransactionalRoute, responses=PROBLEMS
)
reports_router = APIRouter(
    prefix="/v1/reports", tags=["reports"], route_class=TransactionalRoute, responses=PROBLEMS
)


async def ticket_filter(
    clock_name: Annotated[str | None, Query(max_length=64)] = None,
    branch_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    product_line: Annotated[str | None, Query(max_length=24)] = None,
    cause: Annotated[str | None, Query(max_length=40, description="Cause code.")] = None,
) -> TicketFilter:
    return TicketFilter(
        clock_name=clock_name,
        branch_id=branch_id,
        team_id=team_id,
        assignee_id=assignee_id,
        product_line=product_line,
        cause=cause,
    )


Filter = Annotated[TicketFilter, Depends(ticket_filter)]


def _next(key: list[str] | None) -> str | None:
    return encode_cursor(key) if key else None


@sla_router.get(
    "/breaches",
    response_model=Page[BreachRow],
    operation_id="listBreaches",
    summary="Clocks breached in a period (by breached_at), earliest first; CSV on request",
    responses=CSV,
)
async def list_breaches(
    request: Request,
    session: SessionDep,
    principal: Reader,
    flt: Filter,
    page: Annotated[PageParams, Depends(page_params)],
    from_: Annotated[Instant, Query(alias="from", description="breached_at from (incl.)")],
    to: Annotated[Instant, Query(description="breached_at before (excluded).")],
    ticket_kind: TicketKind | None = None,
) -> Any:
    as_csv = exports.wants_csv(request.headers.get("accept"))
    listing = await service.breaches(
        session,
        principal,
        ticket_kind=ticket_kind,
        flt=flt,
        start=from_,
        end=to,
        now=utc_now(),
        cursor=None if as_csv else page.cursor,
        limit=exports.MAX_ROWS if as_csv else page.limit,
    )
    items = [service.breach_row(row) for row in listing.rows]
    if as_csv:
        exports.check_size(len(items) + (1 if listing.next_key else 0))
        rows = (exports.breach_csv_row(item) for item in items)
        return exports.response("breaches.csv", exports.BREACH_COLUMNS, rows)
    return Page[BreachRow](items=items, next_cursor=_next(listing.next_key))


@sla_router.get(
    "/at-risk",
    response_model=Page[AtRiskRow],
    operation_id="listClocksAtRisk",
    summary="Running clocks due within a window, most urgent first; CSV on request",
    responses=CSV,
)
async def list_at_risk(
    request: Request,
    session: SessionDep,
    principal: Reader,
    flt: Filter,
    page: Annotated[PageParams, Depends(page_params)],
    within: Annotated[int, Query(ge=0, le=1000, description="Window length (0: today).")] = 2,
    unit: Literal["working_days", "hours"] = "working_days",
    ticket_kind: TicketKind | None = None,
) -> Any:
    as_csv = exports.wants_csv(request.headers.get("accept"))
    now = utc_now()
    listing = await service.at_risk(
        session,
        principal,
        ticket_kind=ticket_kind,
        flt=flt,
        within=within,
        unit=unit,
        now=now,
        cursor=None if as_csv else page.cursor,
        limit=exports.MAX_ROWS if as_csv else page.limit,
    )
    items = [service.at_risk_row(row, now) for row in listing.rows]
    if as_csv:
        exports.check_size(len(items) + (1 if listing.next_key else 0))
        rows = (exports.at_risk_csv_row(item) for item in items)
        return exports.response("at-risk.csv", exports.AT_RISK_COLUMNS, rows)
    return Page[AtRiskRow](items=items, next_cursor=_next(listing.next_key))


@reports_router.get(
    "/service-indicators",
    response_model=ServiceIndicators,
    operation_id="getServiceIndicators",
    summary="On-time rates per clock, handling time and other service indicators per period",
)
async def service_indicators(
    session: SessionDep,
    principal: Reader,
    from_: Annotated[Day, Query(alias="from", description="First business date (incl.).")],
    to: Annotated[Day, Query(description="Last business date (included).")],
    period: Period = Period.MONTH,
    group_by: GroupBy | None = None,
) -> ServiceIndicators:
    return await indicators.service_indicators(
        session, principal, first=from_, last=to, period=period, group_by=group_by
    )


@reports_router.get(
    "/complaints",
    response_model=ComplaintStatistics,
    operation_id="getComplaintStatistics",
    summary="Complaints received by cause × product line × channel × branch; CSV on request",
    responses=CSV,
)
async def complaint_statistics(
    request: Request,
    session: SessionDep,
    principal: Reader,
    from_: Annotated[Day, Query(alias="from", description="First business date (incl.).")],
    to: Annotated[Day, Query(description="Last business date (included).")],
    by: Annotated[
        list[StatisticsBy] | None,
        Query(description="Dimensions to cross (repeat the parameter); default all four."),
    ] = None,
    premium_100m_yuan: Annotated[
        float | None, Query(gt=0, description="Premium income of the period, in ¥100m.")
    ] = None,
    policies_10k: Annotated[
        float | None, Query(gt=0, description="Policies in force, in 10,000s.")
    ] = None,
    persons_10k: Annotated[
        float | None, Query(gt=0, description="Persons insured, in 10,000s.")
    ] = None,
) -> Response | ComplaintStatistics:
    figures = await statistics.complaint_statistics(
        session,
        principal,
        first=from_,
        last=to,
        by=by or [],
        denominators=Denominators(
            premium_100m_yuan=premium_100m_yuan,
            policies_10k=policies_10k,
            persons_10k=persons_10k,
        ),
    )
    if exports.wants_csv(request.headers.get("accept")):
        header, rows = exports.statistics_csv(figures)
        return exports.response("complaints.csv", header, rows)
    return figures
