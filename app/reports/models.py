"""The daily summary of deadline outcomes, and how far it has read the change feed.

``report_sla_daily`` holds, per business date, ticket kind, clock name, scope and one
dimension value, the clocks settled (met or late), met, and the handling time of decisions
notified. Each outcome is counted under every dimension (``total``, ``branch``, ``team``,
``product_line``, ``cause``, ``channel``), twice: in its branch's scope and in the all-branches
scope, so a report reads a few hundred rows per day whatever it is grouped by.

The summary is folded from the change feed's ``clock.breached`` / ``clock.stopped`` events up
to ``report_cursors['sla_daily']``; a report adds the events after that position, read in the
same statement, so it is exact however far behind the folding is.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, CheckConstraint, Date, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

ALL_BRANCHES = uuid.UUID(int=0)
"""The scope of rows that count every branch (what users who see all branches read)."""

DIMENSIONS = ("total", "branch", "team", "product_line", "cause", "channel")
SLA_CURSOR = "sla_daily"


class SlaDaily(Base):
    __tablename__ = "report_sla_daily"
    __table_args__ = (
        CheckConstraint(
            "dimension IN (" + ", ".join(f"'{d}'" for d in DIMENSIONS) + ")",
            name="dimension_known",
        ),
    )

    # Key order: a report asks for one dimension and scope over a range of days.
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    clock_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The dimension's value as text ('' for none, e.g. no team, and for ``total``)."""
    settled: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    met: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    handled: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    handling_working_days: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ReportCursor(Base):
    """How far a summary has read the change feed (a feed position)."""

    __tablename__ = "report_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    after_xact: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    after_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
