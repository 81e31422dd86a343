"""CSV for spreadsheets: built in memory from rows already masked (no personal data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from app.core.errors import InvalidInput

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
