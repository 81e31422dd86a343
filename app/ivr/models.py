"""Calls the IVR reported: one row per (client, call id), holding the answer given, so a retry
is answered the same and never creates a second ticket."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

INTENTS = ("inquiry", "claim_report", "complaint", "callback_request", "status_query")
STATUSES = ("processed", "callback_requested")
TICKET_KINDS = ("inquiry", "claim_report", "complaint", "callback")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class IvrCall(Base):
    __tablename__ = "ivr_calls"
    __table_args__ = (
        # The call id is unique per IVR system, i.e. per API key: the conflict target.
        UniqueConstraint("client_id", "call_id"),
        CheckConstraint(_in("intent", INTENTS), name="intent_known"),
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint(_in("ticket_kind", TICKET_KINDS), name="ticket_kind_known"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        Index("ix_ivr_calls_caller_phone_hash", "caller_phone_hash"),
        # Call-back requests not yet handed to the callbacks feature.
        Index(
            "ix_ivr_calls_callback_requested",
            "created_at",
            postgresql_where=text("status = 'callback_requested' AND ticket_id IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column()
    """The principal (API key) that reported the call."""
    call_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """A keyed hash of the request, to tell a retry from a different call reusing the id."""
    intent: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))

    caller_phone_enc: Mapped[str] = mapped_column(Text)
    caller_phone_hash: Mapped[str] = mapped_column(String(64))
    called_number: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    menu_path: Mapped[str] = mapped_column(String(64))
    policy_number: Mapped[str | None] = mapped_column(String(64))
    id_digits_hash: Mapped[str | None] = mapped_column(String(64))
    """The ID-number digits entered, as a keyed hash only."""
    recording_ref: Mapped[str | None] = mapped_column(String(200))
    transcript: Mapped[str | None] = mapped_column(Text)

    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    branch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("branches.id"))
    ticket_kind: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column()
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """The answer given (without the replay flag), replayed to every retry."""
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
