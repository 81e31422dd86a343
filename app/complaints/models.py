"""Complaints (投诉), their complainant phones, notices, and the cause code list."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampsMixin

CHANNELS = ("hotline", "online", "fax", "letter", "walk_in", "email", "regulator_referral")
PRODUCT_LINES = (
    "motor",
    "property",
    "life",
    "health",
    "accident",
    "liability",
    "agriculture",
    "credit_guarantee",
    "other",
)
RELATIONS = ("policyholder", "insured", "beneficiary", "authorised_agent")
NOTICE_KINDS = (
    "supplement",
    "acceptance",
    "refusal",
    "extension",
    "pause",
    "decision",
    "review_decision",
    "regulator_report",
)
NOTICE_MODES = ("written", "post", "sms", "email", "phone")
DELIVERY_STATUSES = ("pending", "sent", "delivered", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ComplaintCause(Base):
    """The cause code list (data, not code): mis-selling, claims dispute, …"""

    __tablename__ = "complaint_causes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Complaint(TimestampsMixin, Base):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_in("product_line", PRODUCT_LINES), name="product_line_known"),
        CheckConstraint(_in("complainant_relation", RELATIONS), name="relation_known"),
        CheckConstraint(
            "complainant_relation <> 'authorised_agent' OR authorisation_ref IS NOT NULL",
            name="agent_needs_authorisation",
        ),
        CheckConstraint(
            "channel <> 'regulator_referral' OR (regulator_ref IS NOT NULL "
            "AND regulator_reply_by IS NOT NULL)",
            name="referral_needs_reference",
        ),
        Index("ix_complaints_branch_received", "branch_id", "received_at", "id"),
        # Complaint statistics over all branches: an index-only scan of the period.
        Index(
            "ix_complaints_received_statistics",
            "received_at",
            postgresql_include=["branch_id", "cause_code", "product_line", "channel"],
        ),
        Index("ix_complaints_status", "status"),
        Index("ix_complaints_policy_number", "policy_number"),
        Index("ix_complaints_id_number_hash", "id_number_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    rule_set_version: Mapped[int] = mapped_column(Integer)

    channel: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[datetime]
    registered_by: Mapped[str] = mapped_column(String(80))

    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_relation: Mapped[str] = mapped_column(String(24))
    authorisation_ref: Mapped[str | None] = mapped_column(String(200))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64))

    policy_number: Mapped[str | None] = mapped_column(String(64))
    product_line: Mapped[str] = mapped_column(String(24))
    cause_code: Mapped[str] = mapped_column(ForeignKey("complaint_causes.code"), index=True)
    description: Mapped[str] = mapped_column(Text)
    remedy_requested: Mapped[str | None] = mapped_column(Text)
    materials_received: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'"))
    materials_missing: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'"))
    materials_complete_at: Mapped[datetime | None]

    regulator_ref: Mapped[str | None] = mapped_column(String(100))
    regulator_reply_by: Mapped[date | None] = mapped_column(Date)

    handling_limit_days: Mapped[int] = mapped_column(Integer, server_default=text("15"))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("complaints.id"))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    """What ended or decided it: refusal ground, transfer target, decision, review decision."""
    decided_at: Mapped[datetime | None]
    decision_received_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]


class ComplainantPhone(Base):
    """A complainant phone: encrypted, with a keyed hash of the E.164 form for lookups."""

    __tablename__ = "complainant_phones"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)


class ComplaintNotice(Base):
    """A notice to the complainant: what counts as "told" is its mode and delivery (rule C8)."""

    __tablename__ = "complaint_notices"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTICE_KINDS), name="kind_known"),
        CheckConstraint(_in("mode", NOTICE_MODES), name="mode_known"),
        CheckConstraint(_in("delivery", DELIVERY_STATUSES), name="delivery_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    mode: Mapped[str] = mapped_column(String(12))
    sent_at: Mapped[datetime]
    delivery: Mapped[str] = mapped_column(String(12))
    proof_ref: Mapped[str | None] = mapped_column(String(200))
    template_id: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[str | None] = mapped_column(Text)
    counted: Mapped[bool] = mapped_column(Boolean)
    """Whether this notice counted as telling the complainant (so it stopped its clock)."""
    recorded_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
