"""Callback success rate (回访成功率), a service-evaluation indicator, per period and group.

Definitions (one SQL aggregate, no loop over rows):

- **due**: callbacks whose ``due_at`` falls in the period — after 24:00 local of the day before
  ``period_from``, up to and including 24:00 local of ``period_to`` (a deadline "on" a day ends
  at its midnight, so it counts on that day). Cancelled callbacks are moot and not counted.
- **reached**: completed with the customer reached (the questionnaire answered).
  A **refusal** means the customer was contacted but declined the callback: counted apart
  (``refused``), not as a success.
- **success rate** = reached / due. **On-time rate** = reached no later than ``due_at`` / due.
- Groups: ``team``, ``agent`` (the agent who holds or last worked the callback: for a reached
  one, the agent who reached the customer) or ``kind``; ``total`` is every row in scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.calendar import service as calendar_service
from app.callbacks import repository
from app.callbacks.schemas import SuccessRateOut, SuccessRateRow
from app.core.errors import InvalidInput

CALENDAR = "CN"
MAX_PERIOD_DAYS = 3660


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(counts: dict[str, Any]) -> SuccessRateRow:
    due = int(counts["due"])
    return SuccessRateRow(
        group=counts["grp"],
        due=due,
        reached=int(counts["reached"]),
        refused=int(counts["refused"]),
        unreachable=int(counts["unreachable"]),
        open=int(counts["open"]),
        completed_on_time=int(counts["completed_on_time"]),
        success_rate=_rate(int(counts["reached"]), due),
        on_time_rate=_rate(int(counts["completed_on_time"]), due),
    )


EMPTY = {
    "grp": None,
    "due": 0,
    "reached": 0,
    "refused": 0,
    "unreachable": 0,
    "open": 0,
    "completed_on_time": 0,
}


async def success_rate(
    session: AsyncSession,
    principal: Principal,
    *,
    period_from: dt.date,
    period_to: dt.date,
    group_by: str,
) -> SuccessRateOut:
    """Success and on-time rates of the callbacks due from ``period_from`` to ``period_to``
    (local dates, both included), per group and in total, within the principal's branches."""
    if period_to < period_from:
        raise InvalidInput("to must not be before from.", field="to")
    if (period_to - period_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput("The period is limited to ten years.", field="to")
    view = await calendar_service.get_view(session, CALENDAR)
    rows = await repository.success_counts(
        session,
        principal,
        due_after=view.end_of_day(period_from - dt.timedelta(days=1)),
        due_until=view.end_of_day(period_to),
        group_by=group_by,
    )
    groups = [_row(r) for r in rows if not r["is_total"]]
    totals = [r for r in rows if r["is_total"]]
    return SuccessRateOut(
        period_from=period_from,
        period_to=period_to,
        group_by=group_by,
        rows=groups,
        total=_row({**(totals[0] if totals else EMPTY), "grp": None}),
    )
