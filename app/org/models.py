"""Organisation: branches (分支机构). Every ticket and every user belongs to one."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, CheckConstraint, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampsMixin


class Branch(TimestampsMixin, Base):
    __tablename__ = "branches"
    __table_args__ = (
        CheckConstraint("code ~ '^[A-Z0-9_-]{2,32}$'", name="code_format"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
