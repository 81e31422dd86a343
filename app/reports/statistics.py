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
    branch_ids = {
        uuid.UUID(b) for b in {row[branch_at] for row in rows if branch_at is not None} if b
    }
    found = await repository.labels(session, branch_ids=branch_ids, team_ids=set())
    labels = {str(key): code for key, code in found.items()}
    everything = (1 << width) - 1
    alone = {everything ^ (1 << (width - 1 - i)): i for i in range(width)}
    total = 0
    cells: list[StatisticsCell] = []
    subtotals: dict[str, list[Subtotal]] = defaultdict(list)
    # Thousands of rows: plain tuples, classified by the grouping() bitmask.
    for row in rows:
        mask, count = row[width + 1], int(row[width] or 0)
        if mask == 0:
            cells.append(_cell(names, row, count, labels))
        if mask == everything:
            total = count
        if (i := alone.get(mask)) is not None:  # with one dimension, also its cells
            value = row[i]
            subtotals[names[i]].append(
                Subtotal(
                    value=value,
                    label=labels.get(value) if i == branch_at else None,
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


def _cell(
    names: list[str], row: tuple[Any, ...], count: int, labels: dict[str, str]
) -> StatisticsCell:
    values = dict(zip(names, row, strict=False))
    branch = values.pop("branch", None)
    return StatisticsCell(
        **values,
        branch_id=branch,
        branch_code=labels.get(branch) if branch is not None else None,
        count=count,
    )
