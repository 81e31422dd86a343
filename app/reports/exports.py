"""CSV for spreadsheets, built in memory from report rows that are already masked: codes and
ids only, no names, phone or ID numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from app.core.errors import InvalidInput
from app.reports.schemas import AtRiskRow, BreachRow, ComplaintStatistics

MEDIA_TYPE = "text/csv"
MAX_ROWS = 100_000
"""A larger export is refused: narrow the period or add a filter (the figures stay exact)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(accept: str | None) -> bool:
    return accept is not None and MEDIA_TYPE in accept.lower()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    # A spreadsheet would run a cell starting like a formula: keep it text (OWASP CSV injection).
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def check_size(count: int) -> None:
    if count > MAX_ROWS:
        raise InvalidInput(
            f"The export has more than {MAX_ROWS} rows; narrow the period or filter it."
        )


def response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return Response(
        buffer.getvalue(),
        media_type=f"{MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


BREACH_COLUMNS = (
    "ticket_kind",
    "ticket_number",
    "ticket_id",
    "ticket_status",
    "branch_code",
    "team_id",
    "assignee_id",
    "product_line",
    "cause",
    "channel",
    "clock_name",
    "clock_state",
    "outcome",
    "due_date",
    "due_at",
    "breached_at",
    "late_by",
    "late_unit",
)
AT_RISK_COLUMNS = (
    "ticket_kind",
    "ticket_number",
    "ticket_id",
    "ticket_status",
    "branch_code",
    "team_id",
    "assignee_id",
    "product_line",
    "cause",
    "channel",
    "clock_name",
    "due_date",
    "due_at",
    "overdue",
    "hours_left",
    "working_days_left",
)


def _common(item: BreachRow | AtRiskRow) -> list[Any]:
    return [
        item.ticket.kind,
        item.ticket.number,
        item.ticket.id,
        item.ticket.status,
        item.branch_code,
        item.team_id,
        item.assignee_id,
        item.product_line,
        item.cause,
        item.channel,
        item.clock.name,
    ]


def breach_csv_row(item: BreachRow) -> list[Any]:
    return [
        *_common(item),
        item.clock.state,
        item.clock.outcome,
        item.due_date,
        item.due_at,
        item.breached_at,
        item.late_by,
        item.late_unit,
    ]


def at_risk_csv_row(item: AtRiskRow) -> list[Any]:
    return [
        *_common(item),
        item.due_date,
        item.due_at,
        item.overdue,
        item.hours_left,
        item.working_days_left,
    ]


def statistics_csv(statistics: ComplaintStatistics) -> tuple[list[str], list[list[Any]]]:
    dims = [d.value for d in statistics.by]
    header = [*dims, *(["branch_code"] if "branch" in dims else []), "count"]
    rows = []
    for cell in statistics.cells:
        values = [cell.branch_id if d == "branch" else getattr(cell, d) for d in dims]
        code = [cell.branch_code] if "branch" in dims else []
        rows.append([*values, *code, cell.count])
    rows.append(["total", *([""] * (len(header) - 2)), statistics.total])
    return header, rows
