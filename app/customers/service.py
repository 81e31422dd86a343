"""Customers and policies: finding a caller by phone (creating an "unknown caller" the first
time the IVR hears a number), identifying them, and the policies that route their tickets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import audit
from app.access.pii import PiiCodec, mask_id_number, mask_name, mask_phone
from app.access.principal import Principal
from app.api.etag import ANY_VERSION, ExpectedVersion
from app.complaints.service import normalise_phones
from app.core.clock import utc_now
from app.core.errors import AlreadyExists, InvalidInput, NotFound, StaleVersion
from app.core.phones import national_digits, normalise_field
from app.customers import repository
from app.customers.models import Customer, Policy
from app.customers.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    PolicyCreate,
    PolicyOut,
)
from app.org import service as org_service


async def caller(
    session: AsyncSession, codec: PiiCodec, e164: str, *, source: str = "ivr"
) -> uuid.UUID:
    """The customer calling from ``e164`` (normalised); an "unknown caller" (no name yet) the
    first time the number is heard."""
    return await repository.find_or_create_by_phone(
        session,
        phone_hash=codec.lookup(e164, purpose=codec.PHONE),
        phone_enc=codec.seal(e164, purpose=codec.PHONE),
        source=source,
    )


async def by_phone(session: AsyncSession, codec: PiiCodec, e164: str) -> uuid.UUID | None:
    """The customer owning ``e164`` (normalised), if any; never creates one."""
    return await repository.customer_id_by_phone(session, codec.lookup(e164, purpose=codec.PHONE))


class NoSuchCustomer(Exception):
    """A phone filter that matches no customer (or contradicts the customer asked for)."""


async def customer_filter(
    session: AsyncSession, codec: PiiCodec, *, phone: str | None, customer_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The customer a list's ``phone`` and ``customer_id`` filters mean together.

    Raises ``NoSuchCustomer`` when the phone (any format; 422 if it is no number) belongs to
    nobody or to another customer than ``customer_id`` — the list is then simply empty.
    """
    if phone is None:
        return customer_id
    owner = await by_phone(session, codec, normalise_field(phone, "phone"))
    if owner is None or (customer_id is not None and owner != customer_id):
        raise NoSuchCustomer
    return owner


async def get(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    customer = await repository.get(session, customer_id)
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return customer


async def sealed_phones(session: AsyncSession, customer_id: uuid.UUID) -> list[tuple[str, str]]:
    """The customer's phones as stored, ``(ciphertext, lookup hash)``: for features that
    contact the customer (callbacks) and keep the numbers sealed the same way."""
    return [(p.phone_enc, p.phone_hash) for p in await repository.phones_of(session, customer_id)]


async def _attach_phones(
    session: AsyncSession, codec: PiiCodec, customer_id: uuid.UUID, raw: list[str], field: str
) -> None:
    for index, phone in enumerate(normalise_phones(raw, field)):
        owner = await repository.add_phone(
            session,
            customer_id,
            phone_hash=codec.lookup(phone, purpose=codec.PHONE),
            phone_enc=codec.seal(phone, purpose=codec.PHONE),
        )
        if owner != customer_id:
            raise AlreadyExists(
                f"{field}[{index}] belongs to another customer.",
                field=f"{field}[{index}]",
                customer_id=str(owner),
            )


async def _check_id_number_free(
    session: AsyncSession, codec: PiiCodec, id_number: str, customer_id: uuid.UUID | None
) -> str:
    id_hash = codec.id_lookup(id_number)
    holder = await repository.by_id_number_hash(session, id_hash)
    if holder is not None and holder.id != customer_id:
        raise AlreadyExists(
            "A customer with this ID number exists.",
            field="id_number",
            customer_id=str(holder.id),
        )
    return id_hash


async def create(
    session: AsyncSession, principal: Principal, codec: PiiCodec, data: CustomerCreate
) -> Customer:
    customer = Customer(id=uuid.uuid4(), name=data.name, source="agent")
    if data.id_number:
        customer.id_number_hash = await _check_id_number_free(session, codec, data.id_number, None)
        customer.id_number_enc = codec.seal(data.id_number.upper(), purpose=codec.ID_NUMBER)
    session.add(customer)
    await session.flush()
    await _attach_phones(session, codec, customer.id, data.phones, "phones")
    await audit.record(
        session, principal, "customer.created", target_kind="customer", target_id=customer.id
    )
    await session.refresh(customer)
    return customer


async def update(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    customer_id: uuid.UUID,
    data: CustomerUpdate,
    expected: ExpectedVersion,
) -> Customer:
    """Identify a caller (name, ID number) and add phones; optimistic on ``If-Match``."""
    customer = await repository.get(session, customer_id, lock=True)
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    if expected != ANY_VERSION and customer.version != expected:
        raise StaleVersion(
            f"Customer {customer_id} is at version {customer.version}; reload it.",
            current_etag=f'"v{customer.version}"',
        )
    if data.name is not None:
        customer.name = data.name
    if data.id_number is not None:
        customer.id_number_hash = await _check_id_number_free(
            session, codec, data.id_number, customer.id
        )
        customer.id_number_enc = codec.seal(data.id_number.upper(), purpose=codec.ID_NUMBER)
    await _attach_phones(session, codec, customer.id, data.add_phones, "add_phones")
    customer.version += 1
    customer.updated_at = utc_now()
    await session.flush()
    changed = sorted(k for k, v in data.model_dump(exclude_none=True).items() if v)
    await audit.record(
        session,
        principal,
        "customer.updated",
        target_kind="customer",
        target_id=customer.id,
        fields=changed,
    )
    return customer


async def search(
    session: AsyncSession, codec: PiiCodec, *, phone: str | None, id_number: str | None
) -> list[Customer]:
    """Exact lookups only (by keyed hash): a phone in any format, or an ID number."""
    if phone is None and id_number is None:
        raise InvalidInput("Give phone or id_number.", field="phone")
    found: list[uuid.UUID] = []
    if phone is not None:
        e164 = normalise_field(phone, "phone")
        owner = await by_phone(session, codec, e164)
        if owner is not None:
            found.append(owner)
    if id_number is not None:
        holder = await repository.by_id_number_hash(session, codec.id_lookup(id_number))
        if holder is not None and holder.id not in found:
            found.append(holder.id)
    return await repository.customers_by_ids(session, found)


async def view(session: AsyncSession, codec: PiiCodec, customer: Customer) -> CustomerOut:
    phones = [
        mask_phone(national_digits(codec.open(p.phone_enc, purpose=codec.PHONE)))
        for p in await repository.phones_of(session, customer.id)
    ]
    id_number = (
        mask_id_number(codec.open(customer.id_number_enc, purpose=codec.ID_NUMBER))
        if customer.id_number_enc
        else None
    )
    return CustomerOut(
        id=customer.id,
        name=mask_name(customer.name) if customer.name else None,
        id_number=id_number,
        phones=phones,
        source=customer.source,
        version=customer.version,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


# --- policies ---------------------------------------------------------------------------------


async def policy_by_number(session: AsyncSession, number: str) -> Policy | None:
    """Unscoped: intake routes a ticket to the policy's branch whoever is calling."""
    return await repository.policy_by_number(session, number)


async def get_policy(session: AsyncSession, principal: Principal, number: str) -> Policy:
    policy = await repository.readable_policy(session, principal, number)
    if policy is None:
        raise NotFound(f"Policy {number} does not exist.")
    return policy


async def register_policy(
    session: AsyncSession, principal: Principal, data: PolicyCreate
) -> Policy:
    branch_id = data.branch_id or principal.branch_id
    if branch_id is None or not (principal.sees_all_branches or branch_id == principal.branch_id):
        raise InvalidInput("You can register policies only for your own branch.", field="branch_id")
    if branch_id != principal.branch_id:
        await org_service.require_named_branch(session, branch_id)
    if data.holder_id is not None and await repository.get(session, data.holder_id) is None:
        raise InvalidInput(f"Customer {data.holder_id} does not exist.", field="holder_id")
    policy = await repository.insert_policy(
        session,
        number=data.number,
        product_line=data.product_line,
        branch_id=branch_id,
        holder_id=data.holder_id,
    )
    if policy is None:
        raise AlreadyExists(f"Policy {data.number} exists.", field="number")
    await audit.record(
        session, principal, "policy.registered", target_kind="policy", target_id=policy.id
    )
    return policy


async def policy_view(session: AsyncSession, policy: Policy) -> PolicyOut:
    holder = await repository.get(session, policy.holder_id) if policy.holder_id else None
    out = PolicyOut.model_validate(policy)
    if holder is not None and holder.name:
        out.holder_name = mask_name(holder.name)
    return out


@dataclass(frozen=True)
class Party:
    """Who a ticket is about: the customer (if known) and the policy (if on record)."""

    customer_id: uuid.UUID | None
    policy: Policy | None


async def resolve_party(
    session: AsyncSession,
    codec: PiiCodec,
    *,
    customer_id: uuid.UUID | None,
    phone: str | None,
    phone_field: str,
    policy_number: str | None,
) -> Party:
    """For agent-created tickets: the given customer (must exist), else the customer owning the
    phone (created the first time), and the policy by number if it is on record."""
    if customer_id is not None:
        if await repository.get(session, customer_id) is None:
            raise InvalidInput(f"Customer {customer_id} does not exist.", field="customer_id")
    elif phone is not None:
        e164 = normalise_field(phone, phone_field)
        customer_id = await caller(session, codec, e164, source="agent")
    policy = await repository.policy_by_number(session, policy_number) if policy_number else None
    return Party(customer_id=customer_id, policy=policy)
