"""Rules every ticket kind applies the same way on creation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from app.access.principal import Principal
from app.core.errors import InvalidInput

CLOCK_SKEW = timedelta(minutes=5)
BACKDATE_NEEDS_REASON = timedelta(minutes=30)


def received_at(
    given: datetime | None, reason: str | None, now: datetime, *, field: str = "received_at"
) -> datetime:
    """When the ticket was received: now by default; never in the future; back-dated by more
    than 30 minutes only with a reason (the clocks count from it)."""
    instant = given or now
    if instant > now + CLOCK_SKEW:
        raise InvalidInput(f"{field} is in the future.", field=field)
    if now - instant > BACKDATE_NEEDS_REASON and reason is None:
        raise InvalidInput(f"A back-dated {field} needs {field}_reason.", field=f"{field}_reason")
    return instant


def own_branch(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """The branch an agent creates a ticket in: theirs, or any if they see all branches."""
    branch_id = requested or principal.branch_id
    if branch_id is None or not (principal.sees_all_branches or branch_id == principal.branch_id):
        raise InvalidInput("You can create tickets only for your own branch.", field="branch_id")
    return branch_id
