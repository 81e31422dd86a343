"""The report summaries, and how far they have read the change feed.

``report_sla_summary`` holds, per grain (a day, or a month), ticket kind, clock name, scope and
one dimension value, the clocks settled (met or late), met, and the handling time of decisions
notified. Each outcome is counted under every dimension (``total``, ``branch``, ``team``,
``product_line``, ``cause``, ``channel``), in its branch's scope and in the all-branches scope,
in its day and in its month: a year's report by month reads a few thousand rows, however many
tickets there are.

``report_ticket_months`` counts the tickets received per month, branch, cause, product line and
channel (the complaint statistics).

Both are folded from the change feed (``clock.breached`` / ``clock.stopped`` and the tickets'
creation events) up to ``report_cursors['report_summary']``; a report adds the events after that
position, read in the same statement, so it is exact however far behind the folding is.
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
GRAINS = ("day", "month")
SUMMARY_CURSOR = "report_summary"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class SlaSummary(Base):
    __tablename__ = "report_sla_summary"
    __table_args__ = (
        CheckConstraint(_one_of("grain", GRAINS), name="grain_known"),
        CheckConstraint(_one_of("dimension", DIMENSIONS), name="dimension_known"),
    )

    # Key order: a report asks for one grain, dimension and scope over a range of periods.
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    starts_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    """The day, or the first day of the month."""
    subject_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    clock_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The dimension's value as text ('' for none, e.g. no team, and for ``total``)."""
    settled: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    met: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    handled: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    handling_working_days: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class TicketMonth(Base):
    __tablename__ = "report_ticket_months"

    subject_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    branch_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cause: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_line: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class ReportCursor(Base):
    """How far a summary has read the change feed (a feed position)."""

    __tablename__ = "report_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    after_xact: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    after_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
