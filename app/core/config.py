"""Settings: one class, read from the environment (prefix ``CONTACT_DESK_``).

``DATABASE_URL`` is the one setting without the prefix, because every hosting platform and
tool already knows that name.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONTACT_DESK_",
        extra="forbid",
        frozen=True,
    )

    environment: Environment = Environment.DEVELOPMENT

    database_url: Annotated[
        str | None,
        Field(validation_alias=AliasChoices("DATABASE_URL", "CONTACT_DESK_DATABASE_URL")),
    ] = None
    """``postgresql+asyncpg://…`` of an external server. Unset: the embedded server is used."""

    embedded_pg_data: Path = Path(".data/pg")
    """Data folder of the embedded PostgreSQL, reused across starts."""

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=100)

    migrate_on_start: bool = True
    """Apply migrations at start-up (guarded by an advisory lock, safe with many instances)."""

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Requests with a larger body are refused with 413 before they are read."""

    retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    """What a 503 tells clients to wait before retrying while the database is unreachable."""

    idempotency_retention_hours: int = Field(default=48, ge=1)
    """How long a stored ``Idempotency-Key`` response is kept for replay."""

    sweep_interval_seconds: float = Field(default=30.0, ge=0)
    """How often the in-service sweeper records breaches and warnings; 0 disables it (e.g. when
    ``contact-desk worker`` runs separately)."""

    sweep_batch_size: int = Field(default=1000, ge=1, le=100_000)
    """Clocks marked per sweeper transaction (short transactions keep row locks brief)."""

    log_level: str = "INFO"
    log_json: bool = True

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    @field_validator("database_url")
    @classmethod
    def _require_asyncpg_driver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith(("postgres://", "postgresql://")):
            # Accept the plain libpq form people paste from their hosting panel.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_URL must be a postgresql+asyncpg:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
