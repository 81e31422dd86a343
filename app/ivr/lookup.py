"""A caller's open items across ticket kinds, with their next deadline in plain words.

Each kind contributes its own scoped query (through its service); they are read with the next
due clock of each item in one statement. The lookup by phone reads the caller's record in the
same statement, sent alone (no transaction around it): one round trip, while the caller waits on
the line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, String, Uuid, bindparam, literal_column, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Permission
from app.access.pii import PiiCodec, mask_name, mask_phone
from app.access.principal import Principal
from app.callbacks import service as callbacks
from app.claims import service as claims
from app.clocks import subjects
from app.complaints import service as complaints
from app.core.errors import NotFound
from app.core.phones import national_digits
from app.customers import service as customers
from app.db.driver_sql import DriverQuery, RowMapping, compile_for_driver
from app.inquiries import service as inquiries
from app.ivr import speech
from app.ivr.schemas import CallerOut, DueOut, OpenItem, PolicyCallerOut

MAX_ITEMS = 50


def _due(row: RowMapping, now: datetime) -> DueOut | None:
    if row["clock_name"] is None:
        return None
    overdue = row["breached_at"] is not None or row["due_at"] < now
    return DueOut(
        clock=row["clock_name"],
        due_date=row["due_date"],
        due_at=row["due_at"],
        provisional=row["provisional"],
        overdue=overdue,
        text=speech.due_text(
            row["clock_name"], row["due_date"], overdue=overdue, provisional=row["provisional"]
        ),
    )


@dataclass(frozen=True)
class _Shape:
    """What a lookup statement depends on besides the values it binds."""

    sees_all: bool
    branch_id: uuid.UUID | None
    by_phone: bool
    by_customer: bool
    by_policy: bool
    customer_from_caller: bool = False
    """The customer is the ``caller`` CTE's row (:func:`caller`), not a bound value."""


_PHONE = bindparam("phone_hash", type_=String)
_CUSTOMER = bindparam("customer_id", type_=Uuid)
_POLICY = bindparam("policy_number", type_=String)


@lru_cache(maxsize=512)
def _statement(shape: _Shape) -> Select[Any] | None:
    """The lookup statement for one shape, built once (building it costs more than running it):
    each kind's scoped open items, unioned, with the next due clock of each joined on."""
    scope = Principal(
        kind="api_key",
        id=uuid.UUID(int=0),
        name="caller lookup",
        role="",
        branch_id=shape.branch_id,
        team_id=None,
        permissions=frozenset({Permission.ALL_BRANCHES.value}) if shape.sees_all else frozenset(),
    )
    policy = _POLICY if shape.by_policy else None
    customer: Any = (
        literal_column("caller.id", Uuid)
        if shape.customer_from_caller
        else _CUSTOMER
        if shape.by_customer
        else None
    )
    queries: list[Select[Any]] = [
        query
        for query in (
            complaints.in_progress_query(
                scope, phone_hash=_PHONE if shape.by_phone else None, policy_number=policy
            ),
            inquiries.awaiting_answer_query(scope, customer_id=customer, policy_number=policy),
            claims.open_query(scope, customer_id=customer, policy_number=policy),
            callbacks.open_query(
                scope, phone_hash=_PHONE if shape.by_phone else None, policy_number=policy
            ),
        )
        if query is not None
    ]
    if not queries:
        return None
    items = union_all(*queries).subquery("items")
    due = subjects.next_due_lateral(items.c.kind, items.c.id)
    return (
        select(items, due)
        .select_from(items.outerjoin(due, true()))
        .order_by(due.c.due_at.asc().nulls_last(), items.c.received_at.desc())
        .limit(MAX_ITEMS)
    )


_driver_queries: dict[_Shape, DriverQuery] = {}


def _driver_query(shape: _Shape, session: AsyncSession) -> DriverQuery | None:
    """The shape's statement compiled once for the driver (``app.db.driver_sql``); for the
    caller lookup, wrapped to find the caller in the same statement (``_CALLER_WRAPPER``)."""
    query = _driver_queries.get(shape)
    if query is None:
        statement = _statement(shape)
        if statement is None:
            return None
        examples: dict[str, Any] = {}
        if shape.by_phone:
            examples["phone_hash"] = ""
        if shape.by_customer:
            examples["customer_id"] = uuid.UUID(int=0)
        if shape.by_policy:
            examples["policy_number"] = ""
        query = compile_for_driver(statement, session.bind.dialect, examples)
        if shape.customer_from_caller:
            phone = f"${query.names.index('phone_hash') + 1}"
            query = replace(query, sql=_CALLER_WRAPPER.format(phone=phone, items=query.sql))
        _driver_queries[shape] = query
    return query


async def open_items(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: uuid.UUID | None,
    phone_hash: str | None,
    policy_number: str | None,
    now: datetime,
) -> list[OpenItem]:
    """Complaints in progress and callbacks still owed (by phone or policy number), inquiries
    owed an answer and open claim reports (by customer or policy number); soonest deadline
    first."""
    shape = _Shape(
        sees_all=principal.sees_all_branches,
        branch_id=None if principal.sees_all_branches else principal.branch_id,
        by_phone=phone_hash is not None and policy_number is None,
        by_customer=customer_id is not None and policy_number is None,
        by_policy=policy_number is not None,
    )
    query = _driver_query(shape, session)
    if query is None:
        return []
    values = {"phone_hash": phone_hash, "customer_id": customer_id, "policy_number": policy_number}
    supplied = {name: value for name, value in values.items() if value is not None}
    return _items(await query.rows(session, supplied), now)


def _items(rows: list[RowMapping], now: datetime) -> list[OpenItem]:
    return [
        OpenItem(
            kind=row["kind"],
            id=row["id"],
            number=row["number"],
            status=row["status"],
            status_text=speech.status_text(row["kind"], row["status"]),
            branch_id=row["branch_id"],
            received_at=row["received_at"],
            next_due=_due(row, now),
        )
        for row in rows
        if row["kind"] is not None  # the caller's row when there is no item (see caller())
    ]


def spoken(items: list[OpenItem]) -> str:
    return speech.open_items(
        [(i.kind, i.number, i.status_text, i.next_due.text if i.next_due else None) for i in items]
    )


# The caller by phone (unscoped: a name to greet them by) with their open items in scope, in one
# statement: the items' query joined laterally, its customer taken from the caller's row.
_CALLER_WRAPPER = """
WITH caller AS (
    SELECT c.id, c.name FROM customers c JOIN customer_phones p ON p.customer_id = c.id
    WHERE p.phone_hash = {phone}
)
SELECT caller.id AS caller_id, caller.name AS caller_name, items.*
FROM (SELECT 1) AS one
LEFT JOIN caller ON true
LEFT JOIN LATERAL ({items}) AS items ON true
ORDER BY items.due_at ASC NULLS LAST, items.received_at DESC
"""


async def caller(
    session: AsyncSession, principal: Principal, codec: PiiCodec, e164: str, *, now: datetime
) -> CallerOut:
    """The screen pop / status query by phone: masked, within the principal's scope."""
    shape = _Shape(
        sees_all=principal.sees_all_branches,
        branch_id=None if principal.sees_all_branches else principal.branch_id,
        by_phone=True,
        by_customer=False,
        by_policy=False,
        customer_from_caller=True,
    )
    phone_hash = codec.lookup(e164, purpose=codec.PHONE)
    query = _driver_query(shape, session)
    assert query is not None  # complaints by phone are always asked
    rows = await query.rows(session, {"phone_hash": phone_hash})
    customer_id, name = rows[0]["caller_id"], rows[0]["caller_name"]
    items = _items(rows, now)
    return CallerOut(
        phone=mask_phone(national_digits(e164)),
        customer_id=customer_id,
        customer_name=mask_name(name) if name else None,
        items=items,
        speech=spoken(items),
    )


async def policy(
    session: AsyncSession, principal: Principal, number: str, *, now: datetime
) -> PolicyCallerOut:
    """The open items referring to a policy number; 404 when neither the policy nor any item
    is visible to the principal."""
    try:
        found = await customers.get_policy(session, principal, number)
    except NotFound:
        found = None
    items = await open_items(
        session, principal, customer_id=None, phone_hash=None, policy_number=number, now=now
    )
    if found is None and not items:
        raise NotFound(f"Policy {number} does not exist.")
    holder = await customers.policy_view(session, found) if found else None
    return PolicyCallerOut(
        policy_number=number,
        product_line=found.product_line if found else None,
        branch_id=found.branch_id if found else None,
        holder_name=holder.holder_name if holder else None,
        items=items,
        speech=spoken(items),
    )
