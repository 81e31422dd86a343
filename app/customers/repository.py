"""Queries on customers, their phones and policies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.principal import Principal
from app.access.scope import readable_by
from app.customers.models import Customer, CustomerPhone, Policy

# One round trip for the IVR's hot path: the customer owning the phone, or a new "unknown
# caller" with that phone. The phone row is inserted first and the unique key on its hash
# settles a race between two first calls from one number: the loser's insert waits, does
# nothing, and returns no row (its statement snapshot cannot see the winner's row, so the
# caller reads it again). The foreign key is checked at the end of the statement, after the
# customer row of the same statement exists.
_FIND_OR_CREATE_BY_PHONE = text(
    """
    WITH found AS (
        SELECT customer_id FROM customer_phones WHERE phone_hash = :phone_hash
    ), new_phone AS (
        INSERT INTO customer_phones (phone_hash, customer_id, phone_enc)
        SELECT :phone_hash, :new_id, :phone_enc WHERE NOT EXISTS (SELECT 1 FROM found)
        ON CONFLICT (phone_hash) DO NOTHING
        RETURNING customer_id
    ), new_customer AS (
        INSERT INTO customers (id, source) SELECT customer_id, :source FROM new_phone
        RETURNING id
    )
    SELECT customer_id FROM found UNION ALL SELECT id FROM new_customer
    """
)


async def customer_id_by_phone(session: AsyncSession, phone_hash: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(CustomerPhone.customer_id).where(CustomerPhone.phone_hash == phone_hash)
    )
    return found


async def find_or_create_by_phone(
    session: AsyncSession, *, phone_hash: str, phone_enc: str, source: str
) -> uuid.UUID:
    params = {
        "phone_hash": phone_hash,
        "phone_enc": phone_enc,
        "new_id": uuid.uuid4(),
        "source": source,
    }
    customer_id: uuid.UUID | None = await session.scalar(_FIND_OR_CREATE_BY_PHONE, params)
    if customer_id is None:  # a concurrent first call from this number won; it has committed
        customer_id = await customer_id_by_phone(session, phone_hash)
    assert customer_id is not None
    return customer_id


async def get(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False
) -> Customer | None:
    query = select(Customer).where(Customer.id == customer_id)
    if lock:
        query = query.with_for_update()
    customer: Customer | None = await session.scalar(query)
    return customer


async def by_id_number_hash(session: AsyncSession, id_number_hash: str) -> Customer | None:
    customer: Customer | None = await session.scalar(
        select(Customer).where(Customer.id_number_hash == id_number_hash)
    )
    return customer


async def phones_of(session: AsyncSession, customer_id: uuid.UUID) -> list[CustomerPhone]:
    rows = await session.scalars(
        select(CustomerPhone)
        .where(CustomerPhone.customer_id == customer_id)
        .order_by(CustomerPhone.created_at, CustomerPhone.phone_hash)
    )
    return list(rows.all())


async def add_phone(
    session: AsyncSession, customer_id: uuid.UUID, *, phone_hash: str, phone_enc: str
) -> uuid.UUID:
    """Attach the phone to the customer; returns the customer that owns it afterwards (another
    one when the number was already taken)."""
    inserted = await session.scalar(
        insert(CustomerPhone)
        .values(phone_hash=phone_hash, customer_id=customer_id, phone_enc=phone_enc)
        .on_conflict_do_nothing(index_elements=[CustomerPhone.phone_hash])
        .returning(CustomerPhone.customer_id)
    )
    if inserted is not None:
        return customer_id
    owner = await customer_id_by_phone(session, phone_hash)
    assert owner is not None
    return owner


async def policies_held_by(session: AsyncSession, customer_id: uuid.UUID) -> list[Policy]:
    rows = await session.scalars(
        select(Policy).where(Policy.holder_id == customer_id).order_by(Policy.number)
    )
    return list(rows.all())


async def policy_by_number(session: AsyncSession, number: str) -> Policy | None:
    policy: Policy | None = await session.scalar(select(Policy).where(Policy.number == number))
    return policy


async def readable_policy(
    session: AsyncSession, principal: Principal, number: str
) -> Policy | None:
    policy: Policy | None = await session.scalar(
        select(Policy).where(Policy.number == number, readable_by(principal, Policy.branch_id))
    )
    return policy


async def insert_policy(
    session: AsyncSession,
    *,
    number: str,
    product_line: str,
    branch_id: uuid.UUID,
    holder_id: uuid.UUID | None,
) -> Policy | None:
    """Insert a policy; ``None`` when the number is taken (the unique key decides)."""
    policy_id = await session.scalar(
        insert(Policy)
        .values(
            id=uuid.uuid4(),
            number=number,
            product_line=product_line,
            branch_id=branch_id,
            holder_id=holder_id,
        )
        .on_conflict_do_nothing(index_elements=[Policy.number])
        .returning(Policy.id)
    )
    if policy_id is None:
        return None
    return await session.get_one(Policy, policy_id)


async def customers_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Customer]:
    if not ids:
        return []
    rows = await session.scalars(select(Customer).where(Customer.id.in_(ids)))
    return list(rows.all())
