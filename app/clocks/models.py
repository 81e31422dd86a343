"""Deadlines as rows: the rule sets that define them, the clocks, and their append-only ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.clocks.states import EventKind, Outcome, SubjectKind, Unit, sql_in
from app.db.base import Base, TimestampsMixin


class RuleSet(Base):
    """A version of the deadline rules. Versions are only ever added, never edited."""

    __tablename__ = "rule_sets"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
    created_by: Mapped[str] = mapped_column(String(200))


class ClockDefinition(Base):
    """One kind of clock in one rule set: its limit, unit, start and stop events."""

    __tablename__ = "clock_definitions"
    __table_args__ = (
        CheckConstraint(f"unit IN ({sql_in(Unit)})", name="unit_known"),
        CheckConstraint(f"subject_kind IN ({sql_in(SubjectKind)})", name="subject_kind_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("warning_lead_working_days >= 0", name="lead_not_negative"),
    )

    rule_set_version: Mapped[int] = mapped_column(
        Integer, ForeignKey("rule_sets.version", ondelete="RESTRICT"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    # 0 means "given when the clock starts" (e.g. a regulator's own reply-by date, rule C11).
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))
    start_event: Mapped[str] = mapped_column(String(64))
    stop_events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    roll_forward: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    warning_lead_working_days: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The longer limits an extension may grant (e.g. C7: 30, then 60); empty: any longer limit.
    extensions: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]")
    )
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))


class Clock(TimestampsMixin, Base):
    """One deadline on one subject. ``due_*`` are always a function of the other terms."""

    __tablename__ = "clocks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["rule_set_version", "name"],
            ["clock_definitions.rule_set_version", "clock_definitions.name"],
            ondelete="RESTRICT",
        ),
        CheckConstraint(f"subject_kind IN ({sql_in(SubjectKind)})", name="subject_kind_known"),
        CheckConstraint(f"unit IN ({sql_in(Unit)})", name="unit_known"),
        CheckConstraint(f"outcome IN ({sql_in(Outcome)})", name="outcome_known"),
        CheckConstraint("amount >= 0 AND paused_units >= 0", name="amounts_not_negative"),
        CheckConstraint("(stopped_at IS NULL) = (outcome IS NULL)", name="stopped_has_outcome"),
        CheckConstraint("stopped_at IS NULL OR paused_since IS NULL", name="stopped_is_not_paused"),
        CheckConstraint("version >= 1", name="version_positive"),
        # The sweeper: running, unbreached clocks by due instant. The id makes
        # "ORDER BY due_at, id LIMIT n" (keyset pages) a plain index scan.
        Index(
            "ix_clocks_due_at_running",
            "due_at",
            "id",
            postgresql_where=text(
                "stopped_at IS NULL AND breached_at IS NULL AND paused_since IS NULL"
            ),
        ),
        Index(
            "ix_clocks_warn_at_pending",
            "warn_at",
            postgresql_where=text(
                "warn_at IS NOT NULL AND warned_at IS NULL AND breached_at IS NULL"
                " AND stopped_at IS NULL AND paused_since IS NULL"
            ),
        ),
        # The supervisors' lists read each ticket kind's clocks in order and stop at the page
        # (app.reports.repository): kind first, so a kind with few clocks is not looked for
        # among the others.
        Index(
            "ix_clocks_kind_breached_at",
            "subject_kind",
            "breached_at",
            "id",
            postgresql_where=text("breached_at IS NOT NULL"),
        ),
        Index(
            "ix_clocks_kind_due_at_running",
            "subject_kind",
            "due_at",
            "id",
            postgresql_where=text(
                "stopped_at IS NULL AND breached_at IS NULL AND paused_since IS NULL"
            ),
        ),
        Index("ix_clocks_subject", "subject_kind", "subject_id"),
        # A calendar year load finds the open clocks whose counting range touches the year.
        Index(
            "ix_clocks_open_by_calendar",
            "calendar_code",
            "due_date",
            postgresql_where=text("stopped_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID] = mapped_column()
    name: Mapped[str] = mapped_column(String(64))
    rule_set_version: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    roll_forward: Mapped[bool] = mapped_column(Boolean)
    calendar_code: Mapped[str] = mapped_column(
        String(32), ForeignKey("calendars.code", ondelete="RESTRICT")
    )
    started_at: Mapped[dt.datetime] = mapped_column()
    start_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime] = mapped_column()
    provisional: Mapped[bool] = mapped_column(Boolean)
    paused_since: Mapped[dt.datetime | None] = mapped_column()
    paused_units: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    stopped_at: Mapped[dt.datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(20))
    breached_at: Mapped[dt.datetime | None] = mapped_column()
    warn_at: Mapped[dt.datetime | None] = mapped_column()
    warned_at: Mapped[dt.datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class ClockEvent(Base):
    """One entry of the clock ledger. The database refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "clock_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(EventKind)})", name="kind_known"),
        Index("ix_clock_events_clock_id", "clock_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    clock_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clocks.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    old_due_at: Mapped[dt.datetime | None] = mapped_column()
    new_due_at: Mapped[dt.datetime | None] = mapped_column()
    calendar_version: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
