"""Service indicators: on-time rates per clock, handling time, and the rates other features
provide, per period bucket and group (see ``DEFINITIONS``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.reports import repository, summary
from app.reports.models import ALL_BRANCHES
from app.reports.periods import GroupBy, Period, check_range, rate
from app.reports.schemas import ClockRate, IndicatorRow, ServiceIndicators
from app.reports.sources import (
    CALLBACK_SUCCESS,
    FIRST_CONTACT_RESOLUTION,
    RATE_SOURCES,
    TICKET_SOURCES,
)

COMPLAINT = "complaint"

DEFINITIONS = {
    "on_time_rate": "met / settled, per ticket kind and clock name. A clock is settled on the "
    "business date (Asia/Shanghai) its outcome became known: the day it was breached (it passed "
    "its due time while running), or, if it never was, the day it was stopped — met, or late "
    "when stopped after its due time before the breach was recorded. A breached clock counts "
    "once, as late, in the period of its breach, whatever happens to it later. Cancelled "
    "clocks that never breached (withdrawn, merged, transferred tickets) are left out.",
    "complaint_handling_on_time_rate": "投诉件办理及时率: on_time_rate of C7_handling_decision, "
    "the 15/30/60-day decision limit (paused periods excluded, extensions honoured).",
    "average_handling_working_days": "Over complaints whose decision was notified in the "
    "bucket (C7 stopped by a counting decision notice): the working days after the receipt "
    "date up to and including the notice date, on the clock's statutory calendar.",
    "first_contact_resolution_rate": "Inquiries answered in the contact that raised them / "
    "inquiries answered, by the business date of the answer (null when none was answered).",
    "callback_success_rate": "Callbacks that reached the customer (record kept) / callbacks "
    "ended (completed — reached or refused — or unreachable; cancelled ones are not counted), "
    "by the business date they ended (null when none ended). A refusal is contact, not "
    "success. GET /v1/callbacks/success-rate counts the same successes over callbacks *due* in "
    "a period, open ones included.",
}


def _scope(principal: Principal) -> uuid.UUID | None:
    if principal.sees_all_branches:
        return ALL_BRANCHES
    return principal.branch_id


async def _group_labels(
    session: AsyncSession, group_by: GroupBy | None, values: set[str]
) -> dict[str, str]:
    if group_by not in {GroupBy.BRANCH, GroupBy.TEAM}:
        return {}
    ids = {uuid.UUID(value) for value in values if value}
    found = await repository.labels(
        session,
        branch_ids=ids if group_by is GroupBy.BRANCH else set(),
        team_ids=ids if group_by is GroupBy.TEAM else set(),
    )
    return {str(key): code for key, code in found.items()}


def _indicator_row(
    key: tuple[dt.date, str],
    rows: list[summary.RateRow],
    group_by: GroupBy | None,
    labels: dict[str, str],
) -> IndicatorRow:
    """One bucket and group, in one pass over its rows (a year by day is thousands of them)."""
    handling_clock = TICKET_SOURCES[COMPLAINT].handling_clock
    clocks: list[ClockRate] = []
    c7_met = c7_settled = handled = handling_days = 0
    cases = {name: [0, 0] for name in RATE_SOURCES}  # successes, cases
    for r in rows:
        counted = cases.get(r.clock_name)
        if counted is not None:
            counted[0] += r.met
            counted[1] += r.settled
            continue
        if r.settled > 0:
            clocks.append(
                ClockRate(
                    ticket_kind=r.subject_kind,
                    clock_name=r.clock_name,
                    settled=r.settled,
                    met=r.met,
                    late=r.settled - r.met,
                    on_time_rate=rate(r.met, r.settled),
                )
            )
        if r.subject_kind == COMPLAINT:
            handled += r.handled
            handling_days += r.handling_working_days
            if r.clock_name == handling_clock:
                c7_met += r.met
                c7_settled += r.settled
    bucket, value = key
    return IndicatorRow(
        period_start=bucket,
        group=(value or None) if group_by is not None else None,
        group_label=labels.get(value),
        clocks=clocks,
        complaint_handling_on_time_rate=rate(c7_met, c7_settled),
        decisions_notified=handled,
        average_handling_working_days=round(handling_days / handled, 2) if handled else None,
        first_contact_resolution_rate=rate(*cases[FIRST_CONTACT_RESOLUTION]),
        callback_success_rate=rate(*cases[CALLBACK_SUCCESS]),
    )


async def service_indicators(
    session: AsyncSession,
    principal: Principal,
    *,
    first: dt.date,
    last: dt.date,
    period: Period,
    group_by: GroupBy | None,
) -> ServiceIndicators:
    """On-time rates per clock, handling time, and the indicators of other features, per period
    bucket and group, for the branches the principal sees."""
    check_range(first, last)
    dimension = group_by.value if group_by is not None else "total"
    scope = _scope(principal)
    rows: list[summary.RateRow] = []
    if scope is not None:
        rows = await summary.rates(
            session, dimension=dimension, scope=scope, first=first, last=last, period=period
        )
    grouped: dict[tuple[dt.date, str], list[summary.RateRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.bucket, row.value)].append(row)
    labels = await _group_labels(session, group_by, {value for _, value in grouped})
    return ServiceIndicators(
        from_=first,
        to=last,
        period=period,
        group_by=group_by,
        rows=[_indicator_row(key, grouped[key], group_by, labels) for key in sorted(grouped)],
        definitions=DEFINITIONS,
    )
