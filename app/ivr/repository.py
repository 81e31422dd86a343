"""The ``ivr_calls`` table: what is known of a call before it is handled (its stored answer if
it is a retry, its caller, its policy), and the call's row, claimed with the ticket it made."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Policy
from app.db import direct
from app.db.batch import WriteBatch, new_row
from app.ivr.models import IvrCall

# One round trip before anything is decided, sent to the driver as written (it runs on every
# call): the call id's stored answer if it was reported already, the default intake branch, the
# policy entered, and the caller's customer by phone — created as an "unknown caller" the first
# time the number is heard (even for a call that later turns out to be a retry: harmless, the
# number is then known). The phone row goes first and its unique hash settles two first calls
# from one number: the loser's insert waits, does nothing and returns no row (its snapshot
# cannot see the winner's row), so the caller is read again. Foreign keys are checked at the
# end of the statement, after the customer row of the same statement exists.
_CALL_CONTEXT = """
WITH found AS (
    SELECT p.customer_id, c.name FROM customer_phones p JOIN customers c ON c.id = p.customer_id
    WHERE p.phone_hash = $3
), new_phone AS (
    INSERT INTO customer_phones (phone_hash, customer_id, phone_enc)
    SELECT $3, $4::uuid, $5 WHERE NOT EXISTS (SELECT 1 FROM found)
    ON CONFLICT (phone_hash) DO NOTHING
    RETURNING customer_id
), new_customer AS (
    INSERT INTO customers (id, source) SELECT customer_id, 'ivr' FROM new_phone
    RETURNING id
)
SELECT stored.fingerprint AS stored_fingerprint, stored.response AS stored_response,
       (SELECT b.id FROM branches b WHERE b.code = $6) AS default_branch_id,
       coalesce((SELECT customer_id FROM found), (SELECT id FROM new_customer)) AS customer_id,
       (SELECT name FROM found) AS customer_name,
       policy.id AS policy_id, policy.branch_id AS policy_branch_id,
       policy.product_line AS policy_product_line
FROM (SELECT 1) AS one
LEFT JOIN ivr_calls AS stored ON stored.client_id = $1 AND stored.call_id = $2
LEFT JOIN policies AS policy ON policy.number = $7
"""


@dataclass(frozen=True, slots=True)
class CallContext:
    stored: tuple[str, dict[str, Any]] | None
    """The fingerprint and answer of this call id, if it was reported already."""
    default_branch_id: uuid.UUID | None
    """The branch of the default intake code, for calls that neither a policy nor the API key
    place."""
    customer_id: uuid.UUID | None
    """The caller's customer; ``None`` only if a concurrent first call from the same number
    created it meanwhile (read it again)."""
    customer_name: str | None
    policy: Policy | None
    """The policy the caller entered, if it exists (its id, branch and product line)."""


async def call_context(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    call_id: str,
    phone_hash: str,
    phone_enc: str,
    policy_number: str | None,
    default_branch: str,
) -> CallContext:
    """Sent by itself through the direct pool (``app.db.direct``) while the session has sent
    nothing yet; else in the session's transaction."""
    args = (client_id, call_id, phone_hash, uuid.uuid4(), phone_enc, default_branch, policy_number)
    pool = direct.pool_for(session)
    row: Mapping[Any, Any]
    if pool is not None:
        record = await pool.fetchrow(_CALL_CONTEXT, args)
        assert record is not None
        row = record
    else:
        connection = await session.connection()
        row = (await connection.exec_driver_sql(_CALL_CONTEXT, args)).one()._mapping
    policy = (
        new_row(
            Policy,
            id=row["policy_id"],
            number=policy_number,
            branch_id=row["policy_branch_id"],
            product_line=row["policy_product_line"],
        )
        if row["policy_id"] is not None
        else None
    )
    stored_response = row["stored_response"]
    stored = (row["stored_fingerprint"], stored_response) if stored_response is not None else None
    return CallContext(
        stored, row["default_branch_id"], row["customer_id"], row["customer_name"], policy
    )


def claim_call(batch: WriteBatch, row: dict[str, Any]) -> None:
    """The call's row with its outcome and stored answer, as the batch's claim: written with the
    ticket it made, or — if the call id was taken meanwhile — nothing is (``ClaimTaken``)."""
    batch.claim(IvrCall.__table__, row, ("client_id", "call_id"))  # type: ignore[arg-type]


async def stored_answer(
    session: AsyncSession, client_id: uuid.UUID, call_id: str
) -> tuple[str, dict[str, Any]] | None:
    """The fingerprint and answer of a call already processed."""
    row = (
        await session.execute(
            select(IvrCall.fingerprint, IvrCall.response).where(
                IvrCall.client_id == client_id, IvrCall.call_id == call_id
            )
        )
    ).one_or_none()
    if row is None or row.response is None:
        return None
    return row.fingerprint, row.response
