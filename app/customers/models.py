"""Customers (the people who call), their phones, and the policies they hold.

Minimal on purpose: the policy register of record lives in the core policy system; these rows
are what the contact center needs to recognise a caller and route a ticket to its branch.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.complaints.models import PRODUCT_LINES
from app.db.base import Base, TimestampsMixin

SOURCES = ("ivr", "agent")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Customer(TimestampsMixin, Base):
    """A person. ``name`` is unknown (NULL) for a caller first seen by the IVR."""

    __tablename__ = "customers"
    __table_args__ = (CheckConstraint(_in("source", SOURCES), name="source_known"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(200))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    """Who created the record: the IVR (an unknown caller keyed by phone) or an agent."""
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class CustomerPhone(Base):
    """A phone of a customer: encrypted, keyed by the lookup hash of its E.164 form. A number
    belongs to one customer (the primary key is the hash)."""

    __tablename__ = "customer_phones"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    phone_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Policy(TimestampsMixin, Base):
    """A policy by its number: its product line, the branch that serves it, its holder."""

    __tablename__ = "policies"
    __table_args__ = (
        CheckConstraint(_in("product_line", PRODUCT_LINES), name="product_line_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    product_line: Mapped[str] = mapped_column(String(24))
    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"), index=True)
    holder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
