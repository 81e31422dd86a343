"""The one "readable by principal" filter every scoped query goes through.

An object outside the caller's branch is simply not found (404), never "forbidden" (403), so
its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from app.access.principal import Principal


def readable_by(principal: Principal, branch_column: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting rows to those the principal may see, by their branch column."""
    if principal.sees_all_branches:
        return true()
    if principal.branch_id is None:
        # A machine client bound to no branch reaches no branch-scoped row through this filter.
        return false()
    clause: ColumnElement[bool] = branch_column == principal.branch_id
    return clause
