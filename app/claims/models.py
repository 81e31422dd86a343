"""Claim reports (报案, first notice of loss) and what the claims system reports back."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Sequence,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.claims.states import Decision, Status
from app.complaints.models import PRODUCT_LINES
from app.db.base import Base, TimestampsMixin

CHANNELS = ("hotline", "online", "walk_in", "agent_app", "email")
NUMBER_SEQUENCE = Sequence("claim_report_number_seq", metadata=Base.metadata)


def _in(column: str, values: Iterable[str]) -> str:
    quoted = ", ".join(f"'{value}'" for value in sorted(values))
    return f"{column} IN ({quoted})"


class ClaimReport(TimestampsMixin, Base):
    __tablename__ = "claim_reports"
    __table_args__ = (
        CheckConstraint(_in("status", Status), name="status_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_in("product_line", PRODUCT_LINES), name="product_line_known"),
        CheckConstraint(_in("decision", Decision), name="decision_known"),
        CheckConstraint(
            "status IN ('reported', 'cancelled') OR claim_number IS NOT NULL",
            name="handed_off_has_claim_number",
        ),
        Index("ix_claim_reports_branch_reported", "branch_id", "reported_at", "id"),
        Index("ix_claim_reports_created", "created_at", "id"),
        Index("ix_claim_reports_status", "status"),
        Index("ix_claim_reports_policy_number", "policy_number"),
        Index("ix_claim_reports_customer_id", "customer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    """The report number, given at once (24 hours a day)."""
    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"))
    status: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    rule_set_version: Mapped[int] = mapped_column(Integer)

    channel: Mapped[str] = mapped_column(String(24))
    reported_at: Mapped[datetime]
    registered_by: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    policy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("policies.id"))
    policy_number: Mapped[str | None] = mapped_column(String(64))
    product_line: Mapped[str] = mapped_column(String(24))
    incident_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(Text)

    claim_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    """The claims system's own number, from the hand-off."""
    missing_documents: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'"))
    documents_complete_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    advance_paid_at: Mapped[datetime | None]
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    agreement_at: Mapped[datetime | None]
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
