"""Complaint statistics: complaints received by cause × product line × channel × branch, with
subtotals and the regulator's rates per ¥100m premium, 10,000 policies and 10,000 persons."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.reports import repository, summary
from app.reports.periods import StatisticsBy, check_range
from app.reports.schemas import (
    ComplaintRates,
    ComplaintStatistics,
    Denominators,
    StatisticsCell,
    Subtotal,
)
from app.reports.sources import TICKET_SOURCES

COMPLAINT = "complaint"


def _per(count: int, denominator: float | None) -> float | None:
    return round(count / denominator, 4) if denominator else None


async def complaint_statistics(
    session: AsyncSession,
    principal: Principal,
    *,
    first: dt.date,
    last: dt.date,
    by: Sequence[StatisticsBy],
    denominators: Denominators,
) -> ComplaintStatistics:
    """Complaints received in the period by cause × product line × channel × branch (or the
    dimensions asked for), with subtotals and the regulator's per-unit rates of the total."""
    check_range(first, last)
    dims = list(dict.fromkeys(by)) or list(StatisticsBy)
    rows = await summary.ticket_counts(
        session,
        TICKET_SOURCES[COMPLAINT],
        principal,
        first=first,
        last=last,
        by=[d.value for d in dims],
    )
    names = [d.value for d in dims]
    width = len(names)
    branch_at = names.index("branch") if "branch" in names else None
    branch_ids = {row[branch_at] for row in rows if branch_at is not None and row[branch_at]}
    labels = await repository.labels(session, branch_ids=branch_ids, team_ids=set())
    total = 0
    cells: list[StatisticsCell] = []
    subtotals: dict[str, list[Subtotal]] = defaultdict(list)
    for row in rows:
        values, count, flags = row[:width], int(row[width] or 0), row[width + 1 :]
        kept = [i for i, summed in enumerate(flags) if not summed]
        if not kept:
            total = count
        if len(kept) == width:
            cells.append(_cell(dict(zip(names, values, strict=True)), count, labels))
        if len(kept) == 1:
            (i,) = kept
            subtotals[names[i]].append(
                Subtotal(
                    value=str(values[i]) if values[i] is not None else None,
                    label=labels.get(values[i]) if i == branch_at else None,
                    count=count,
                )
            )
    for items in subtotals.values():
        items.sort(key=lambda item: (-item.count, item.value or ""))
    cells.sort(key=lambda cell: -cell.count)
    return ComplaintStatistics(
        from_=first,
        to=last,
        by=dims,
        total=total,
        denominators=denominators,
        rates=ComplaintRates(
            per_100m_yuan_premium=_per(total, denominators.premium_100m_yuan),
            per_10k_policies=_per(total, denominators.policies_10k),
            per_10k_persons=_per(total, denominators.persons_10k),
        ),
        cells=cells,
        subtotals=dict(subtotals),
    )


def _cell(values: dict[str, Any], count: int, labels: dict[uuid.UUID, str]) -> StatisticsCell:
    branch = values.pop("branch", None)
    return StatisticsCell(
        **values,
        branch_id=branch,
        branch_code=labels.get(branch) if branch is not None else None,
        count=count,
    )
