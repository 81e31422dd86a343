"""The timeline of every ticket: one append-only table for all ticket kinds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

TICKET_KINDS = ("complaint", "inquiry", "claim_report", "callback")


class TicketEvent(Base):
    """One thing that happened to a ticket. A trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        CheckConstraint(
            "ticket_kind IN ('complaint', 'inquiry', 'claim_report', 'callback')",
            name="ticket_kind_known",
        ),
        Index("ix_ticket_events_ticket", "ticket_kind", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[uuid.UUID]
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
