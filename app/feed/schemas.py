from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TicketRef(BaseModel):
    kind: str = Field(examples=["complaint"])
    id: uuid.UUID


class FeedEvent(BaseModel):
    """One domain event, as the change feed serves it and as webhooks deliver it."""

    id: int = Field(description="The event's id: unique, but not ordered across transactions.")
    cursor: str = Field(description="Pass as `after` to continue after this event.")
    type: str = Field(
        examples=["complaint.accept", "clock.breached"],
        description="`<ticket kind>.<action>` for ticket events (`complaint.register`, "
        "`complaint.notify`, …) or `clock.<event>` (`clock.started`, `clock.paused`, "
        "`clock.resumed`, `clock.extended`, `clock.restarted`, `clock.recomputed`, "
        "`clock.warned`, `clock.breached`, `clock.stopped`, `clock.cancelled`).",
    )
    occurred_at: datetime
    recorded_at: datetime
    ticket: TicketRef | None
    actor: str | None
    data: dict[str, Any] = Field(
        description="Ticket events: from_status, to_status, reason, data (a notice sent is "
        "`data.notice`). Clock events: clock {id, name, unit}, due_at, old_due_at, reason, "
        "data. Phone- and ID-shaped numbers in text are masked."
    )


class FeedPage(BaseModel):
    items: list[FeedEvent]
    next_cursor: str = Field(
        description="Always present: poll again with `after` set to it. It moves only past "
        "events you were given, so nothing is skipped, even when transactions commit out of "
        "order (an event appears once every older transaction has ended)."
    )
