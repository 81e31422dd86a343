"""The ``ivr_calls`` table: claim a call id (finding its caller), read a stored answer, store
the answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Policy
from app.db.batch import WriteBatch, new_row
from app.ivr.models import IvrCall

_CALL_COLUMNS = (
    "id", "client_id", "call_id", "fingerprint", "intent", "status", "caller_phone_enc",
    "caller_phone_hash", "called_number", "started_at", "ended_at", "menu_path",
    "policy_number", "id_digits_hash", "recording_ref", "transcript",
)  # fmt: skip
_N = len(_CALL_COLUMNS)

# One round trip for every IVR request, sent to the driver as written (it runs on each call):
# claim the call id, read the default intake branch and the policy named, and find the caller's
# customer by phone or — only for a call really claimed — create an "unknown caller" with that
# phone. A retry gets the stored answer in the same round trip when the first call committed
# before this statement began (it reads the statement's snapshot).
# - The claim is what serialises retries: a concurrent retry's insert waits on the first one's
#   uncommitted row, does nothing once it commits, and the retry replays the stored answer.
# - The phone row goes first and its unique hash settles two first calls from one number: the
#   loser's insert waits, does nothing and returns no row (its snapshot cannot see the winner's
#   row), so the caller is read again. Foreign keys are checked at the end of the statement,
#   after the customer row of the same statement exists.
_CLAIM_AND_FIND_CALLER = f"""
WITH claim AS (
    INSERT INTO ivr_calls ({", ".join(_CALL_COLUMNS)})
    VALUES ({", ".join(f"${n}" for n in range(1, _N + 1))})
    ON CONFLICT (client_id, call_id) DO NOTHING
    RETURNING id
), found AS (
    SELECT customer_id FROM customer_phones WHERE phone_hash = ${_N + 2}
), new_phone AS (
    INSERT INTO customer_phones (phone_hash, customer_id, phone_enc)
    SELECT ${_N + 2}, ${_N + 3}::uuid, ${_N + 4}
    WHERE EXISTS (SELECT 1 FROM claim) AND NOT EXISTS (SELECT 1 FROM found)
    ON CONFLICT (phone_hash) DO NOTHING
    RETURNING customer_id
), new_customer AS (
    INSERT INTO customers (id, source) SELECT customer_id, 'ivr' FROM new_phone
    RETURNING id
)
SELECT (SELECT id FROM claim) AS claimed_id,
       (SELECT b.id FROM branches b WHERE b.code = ${_N + 1}) AS default_branch_id,
       coalesce((SELECT customer_id FROM found), (SELECT id FROM new_customer)) AS customer_id,
       stored.fingerprint AS stored_fingerprint, stored.response AS stored_response,
       policy.id AS policy_id, policy.branch_id AS policy_branch_id,
       policy.product_line AS policy_product_line
FROM (SELECT 1) AS one
LEFT JOIN ivr_calls AS stored ON stored.client_id = $2 AND stored.call_id = $3
LEFT JOIN policies AS policy ON policy.number = ${_CALL_COLUMNS.index("policy_number") + 1}
"""  # noqa: S608 - column names are the constants above; every value is a parameter


@dataclass(frozen=True, slots=True)
class Claimed:
    row_id: uuid.UUID
    default_branch_id: uuid.UUID | None
    """The branch of the default intake code (read in the same round trip, for calls that
    neither a policy nor the API key place)."""
    customer_id: uuid.UUID | None
    """The caller's customer; ``None`` only if a concurrent first call from the same number
    created it meanwhile (read it again)."""
    policy: Policy | None
    """The policy the caller entered, if it exists (its id, branch and product line)."""


@dataclass(frozen=True, slots=True)
class Taken:
    """The call id was reported before. ``stored``: its fingerprint and answer, or ``None`` if
    the first report committed too late for this statement to see it (read it again)."""

    stored: tuple[str, dict[str, Any]] | None


async def claim(
    session: AsyncSession,
    *,
    default_branch: str,
    phone_enc: str,
    values: dict[str, Any],
) -> Claimed | Taken:
    """Insert the call and find (or create) its caller, or find the call id taken.
    ``values``: the call row's columns; ``caller_phone_hash`` also finds the customer."""
    row_id = uuid.uuid4()
    args = (
        *(row_id if name == "id" else values[name] for name in _CALL_COLUMNS),
        default_branch,
        values["caller_phone_hash"],
        uuid.uuid4(),
        phone_enc,
    )
    connection = await session.connection()
    row = (await connection.exec_driver_sql(_CLAIM_AND_FIND_CALLER, args)).one()
    if row.claimed_id is None:
        if row.stored_response is None:
            return Taken(None)
        return Taken((row.stored_fingerprint, row.stored_response))
    policy = (
        new_row(
            Policy,
            id=row.policy_id,
            number=values["policy_number"],
            branch_id=row.policy_branch_id,
            product_line=row.policy_product_line,
        )
        if row.policy_id is not None
        else None
    )
    return Claimed(row.claimed_id, row.default_branch_id, row.customer_id, policy)


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


def record_outcome(batch: WriteBatch, row_id: uuid.UUID, **values: Any) -> None:
    """The call's outcome and stored answer, in the same statement as the ticket it made."""
    batch.update(IvrCall.__table__, "id", {"id": row_id, **values})  # type: ignore[arg-type]
