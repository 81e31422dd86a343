"""The shape every ticket kind gives its open items in, so the caller lookup can read all kinds
(and their next deadline) in one statement: ``kind, id, number, status, branch_id,
received_at``. Each feature builds its own scoped query; the lookup only unions them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, literal, select

Criterion = Any
"""A value to select items by, or a ``bindparam()`` standing for it: the caller lookup builds its
statement once per shape and binds the values at execution."""


def item_query(
    kind: str, id_: Any, number: Any, status: Any, branch_id: Any, received_at: Any
) -> Select[Any]:
    return select(
        literal(kind, String).label("kind"),
        id_.label("id"),
        number.label("number"),
        status.label("status"),
        branch_id.label("branch_id"),
        received_at.label("received_at"),
    )
