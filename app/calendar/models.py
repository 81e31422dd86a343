"""Statutory calendars as data: a calendar, its per-date exceptions, and which years are loaded.

A date with no ``calendar_days`` row follows the weekend rule. A year with no ``calendar_years``
row is not loaded: results that depend on it are provisional.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampsMixin


class Calendar(TimestampsMixin, Base):
    __tablename__ = "calendars"
    __table_args__ = (
        CheckConstraint("code ~ '^[A-Z][A-Z0-9_-]{1,31}$'", name="code_format"),
        CheckConstraint("parent_code IS NULL OR parent_code <> code", name="not_own_parent"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), server_default=text("'Asia/Shanghai'"))
    # A regional calendar inherits every day of its parent and adds local days off.
    parent_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("calendars.code", ondelete="RESTRICT")
    )
    # Incremented on every change to the calendar's days; clocks record the version they used.
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class CalendarDayRow(Base):
    """One date departing from (or labelled beyond) the weekend rule."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'makeup_workday')", name="kind_known"),
        CheckConstraint(
            "(kind = 'holiday' AND NOT working) OR (kind = 'makeup_workday' AND working)",
            name="kind_matches_working",
        ),
    )

    calendar_code: Mapped[str] = mapped_column(
        String(32), ForeignKey("calendars.code", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))


class CalendarYear(Base):
    """A loaded year: the published schedule, where it came from, who loaded it and when."""

    __tablename__ = "calendar_years"
    __table_args__ = (
        CheckConstraint("status IN ('official')", name="status_known"),
        CheckConstraint("year BETWEEN 1990 AND 2200", name="year_in_span"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    calendar_code: Mapped[str] = mapped_column(
        String(32), ForeignKey("calendars.code", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'official'"))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column()
    loaded_by: Mapped[str] = mapped_column(String(200))
    # 1 on the first load of the year, +1 on each correction (the year's ETag).
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
