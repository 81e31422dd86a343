"""The one "readable by principal" filter every scoped query goes through.

An object outside the caller's branch is simply not found (404), never "forbidden" (403), so
its existence does not leak.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, false, true

from app.access.permissions import Permission
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


def company_wide_if_unbound(principal: Principal) -> Principal:
    """A machine client bound to no branch, acting for the whole company.

    Only for the endpoints that say so: the IVR's read-only, masked caller lookup and the
    claims system's status pushes (it is the system of record for every branch's claims). A
    key bound to a branch, and every user, keep their own scope.
    """
    if principal.kind != "api_key" or principal.branch_id is not None:
        return principal
    return replace(principal, permissions=principal.permissions | {Permission.ALL_BRANCHES.value})
