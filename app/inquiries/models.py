"""Inquiries (咨询): a question from a caller, answered in the contact or later."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.complaints.models import PRODUCT_LINES
from app.db.base import Base, TimestampsMixin
from app.inquiries.states import Status

CHANNELS = ("hotline", "online", "fax", "letter", "walk_in", "email")
NUMBER_SEQUENCE = Sequence("inquiry_number_seq", metadata=Base.metadata)


def _in(column: str, values: Iterable[str]) -> str:
    quoted = ", ".join(f"'{value}'" for value in sorted(values))
    return f"{column} IN ({quoted})"


class Inquiry(TimestampsMixin, Base):
    __tablename__ = "inquiries"
    __table_args__ = (
        CheckConstraint(_in("status", Status), name="status_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_in("product_line", PRODUCT_LINES), name="product_line_known"),
        CheckConstraint(
            "(status = 'converted') = (converted_complaint_id IS NOT NULL)",
            name="converted_has_complaint",
        ),
        Index("ix_inquiries_branch_received", "branch_id", "received_at", "id"),
        Index("ix_inquiries_created", "created_at", "id"),
        Index("ix_inquiries_status", "status"),
        Index("ix_inquiries_policy_number", "policy_number"),
        # The caller lookup (a plain index: a customer has few inquiries, and a partial one
        # would not match a prepared statement's generic plan with the statuses as parameters).
        Index("ix_inquiries_customer_id", "customer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    rule_set_version: Mapped[int] = mapped_column(Integer)

    channel: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[datetime]
    registered_by: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    policy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("policies.id"))
    policy_number: Mapped[str | None] = mapped_column(String(64))
    """As given (by the caller or the IVR), also when no such policy is on record."""
    product_line: Mapped[str] = mapped_column(String(24))

    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    first_contact_resolution: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[datetime | None]
    converted_complaint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("complaints.id"))
