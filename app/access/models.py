"""Principals and what they may do: teams, users, API keys, role permissions, the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, CreatedAtMixin, TimestampsMixin

USER_ROLES = ("agent", "supervisor", "quality_inspector", "admin")
MACHINE_ROLES = ("ivr", "integration")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Team(TimestampsMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class User(TimestampsMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_one_of("role", USER_ROLES), name="role_known"),
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    branch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("branches.id"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    external_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The ``sub`` of the company identity provider, for users who sign in there."""
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    credentials_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    """Raised by a password reset; a local token issued for another version is refused, so a
    reset ends every session signed in with the old password."""


class ApiKey(CreatedAtMixin, Base):
    """A machine client's key. Only an HMAC of the secret is stored; the key is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_one_of("role", MACHINE_ROLES), name="role_known"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    branch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("branches.id"))
    lookup_id: Mapped[str] = mapped_column(String(16), unique=True)
    """The non-secret part of the key, used to find the row before the constant-time check."""
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class RolePermission(Base):
    """Permissions are data: which role may do what (seeded by a migration)."""

    __tablename__ = "role_permissions"

    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class AuditEvent(Base):
    """Append-only (a trigger refuses UPDATE and DELETE): who did what to whom, and when."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class LoginThrottle(Base):
    """Failed sign-ins per user name (known or not, so probing names reveals nothing)."""

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class LocalSecret(CreatedAtMixin, Base):
    """Keys generated for a development or embedded set-up that configured none.

    Production must configure its keys (settings refuse to start otherwise); these exist so the
    two-command quick start works, and survives restarts, without any configuration.
    """

    __tablename__ = "local_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
