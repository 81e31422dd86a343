"""Keyset pagination over (created_at, id): every list pages the same way."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, literal, tuple_

from app.core.errors import InvalidCursor

RowT = TypeVar("RowT", bound="HasCreatedAndId")


class HasCreatedAndId(Protocol):
    @property
    def created_at(self) -> datetime: ...
    @property
    def id(self) -> uuid.UUID: ...


def after_key(
    query: Select[Any], created_column: Any, id_column: Any, key: list[Any] | None
) -> Select[Any]:
    """Continue after the row whose (created_at, id) is ``key`` (from a decoded cursor)."""
    query = query.order_by(created_column, id_column)
    if key is None:
        return query
    try:
        created_at = datetime.fromisoformat(str(key[0]))
        last_id = uuid.UUID(str(key[1]))
    except (IndexError, ValueError) as exc:
        raise InvalidCursor() from exc
    return query.where(
        tuple_(created_column, id_column) > tuple_(literal(created_at), literal(last_id))
    )


def split_page(rows: Sequence[RowT], limit: int) -> tuple[list[RowT], list[str] | None]:
    """Rows fetched with ``limit + 1``: the page, and the key to continue after it, if any."""
    if len(rows) <= limit:
        return list(rows), None
    last = rows[limit - 1]
    return list(rows[:limit]), [last.created_at.isoformat(), str(last.id)]
