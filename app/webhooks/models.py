"""Webhook subscriptions and their deliveries (one row per event and subscription)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampsMixin

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookSubscription(TimestampsMixin, Base):
    """Where to send which events. The signing secret is stored encrypted (AES-GCM, the PII
    keys) because the worker needs it to sign; it is shown to the administrator only once."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    """Exact types (``clock.breached``), a kind's every type (``complaint.*``) or ``*``."""
    secret_enc: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # How far the worker has read the change feed for this subscription (feed position).
    after_xact: Mapped[int] = mapped_column(BigInteger)
    after_id: Mapped[int] = mapped_column(BigInteger)


class WebhookDelivery(Base):
    """One event for one subscription: pending until a 2xx answer (delivered) or until the
    attempts run out (failed). The unique pair makes fan-out idempotent, and its index serves
    the delivery log (newest event first)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in DELIVERY_STATUSES) + ")",
            name="status_known",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The worker's queue: pending deliveries by when they are next due.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("outbox_events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    """Attempts since the delivery was created or last replayed (also its claim token)."""
    next_attempt_at: Mapped[datetime]
    """When it is next due; while an attempt is in flight, when that attempt's lease ends."""
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
