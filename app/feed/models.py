"""The transactional outbox: every domain event, in the order the change feed serves them.

Rows are written by database triggers on the two append-only ledgers (``ticket_events`` and
``clock_events``, migration 0008), in the statement that appends the ledger entry. So a change,
its ledger entry and its outbox row commit together or not at all, and every feature — present
or future, ORM or set-based SQL like the sweeper — publishes without code of its own.

``xact_id`` is the writing transaction's id (``pg_current_xact_id()``). Readers only take rows
whose transaction is older than their snapshot's ``xmin`` (every older transaction has ended),
in ``(xact_id, id)`` order: a transaction that committed late can never fall behind a cursor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

CURRENT_XACT_ID = "(pg_current_xact_id()::text)::bigint"
"""The writing transaction's 64-bit id (``xid8`` fits a bigint for the life of any server)."""


class OutboxEvent(Base):
    """One domain event. Rows are only ever inserted (by the triggers)."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_position", "xact_id", "id", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    xact_id: Mapped[int] = mapped_column(BigInteger, server_default=text(CURRENT_XACT_ID))
    type: Mapped[str] = mapped_column(String(64))
    """``<ticket kind>.<action>`` (``complaint.accept``) or ``clock.<event>``."""
    ticket_kind: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[uuid.UUID | None]
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    actor: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
