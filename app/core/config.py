"""Settings: one class, read from the environment (prefix ``CONTACT_DESK_``).

``DATABASE_URL`` is the one setting without the prefix, because every hosting platform and
tool already knows that name.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx", "todo"}


def parse_pii_keys(spec: str) -> tuple[tuple[str, bytes], ...]:
    """``id:base64[,id:base64…]`` → (key id, 32-byte AES key) pairs; the first encrypts."""
    keys: list[tuple[str, bytes]] = []
    for part in spec.split(","):
        key_id, _, encoded = part.strip().partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raw = b""
        if not key_id or len(raw) != 32:
            raise ValueError("each PII key must be 'id:<base64 of 32 bytes>'")
        keys.append((key_id, raw))
    return tuple(keys)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONTACT_DESK_",
        extra="forbid",
        frozen=True,
        # A refused configuration is printed at start-up: without this the error would quote
        # the given values, secrets included.
        hide_input_in_errors=True,
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
    db_pre_ping: bool = False
    """Test each pooled connection with a round trip before use. Off: a request that finds its
    connection broken by a database restart is run again on a new one (``app.api.routing``),
    and the pool replaces every connection older than the failure."""

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

    intake_default_branch: str = Field(default="HQ", pattern=r"^[A-Z0-9_-]{2,32}$")
    """Code of the branch that gets IVR tickets when neither the policy nor the IVR's API key
    names one."""

    callback_hold_minutes: int = Field(default=15, ge=1, le=480)
    """How long ``claim-next`` holds a callback for its agent without an attempt; after that the
    callback is back in the queue."""

    callback_complaint_followup_working_days: int = Field(default=5, ge=1, le=60)
    """A decided complaint's follow-up callback is due this many working days after the decision
    notice (no rule-set clock defines it)."""

    callback_claim_paid_working_days: int = Field(default=10, ge=1, le=60)
    """A claim-paid callback is due this many working days after the payment."""

    report_compact_interval_seconds: float = Field(default=15.0, ge=0)
    """How often the service folds new change-feed events into the report summaries; 0 disables
    it (e.g. when ``contact-desk worker`` runs separately). Reports stay exact either way: what
    is not folded in yet is read from the change feed."""

    webhook_worker_enabled: bool = False
    """Deliver webhooks from inside the service (else run ``contact-desk webhook-worker``)."""

    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    """How long the webhook worker waits after a round that found nothing to do."""

    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Time allowed for one webhook request (connect, send, answer)."""

    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    """Deliveries claimed, and sent concurrently, per round of one worker."""

    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    """Attempts before a delivery is marked failed (it can still be replayed)."""

    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    """Wait after the first failed attempt; doubled after each further one ..."""

    webhook_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    """... up to this wait."""

    log_level: str = "INFO"
    log_json: bool = True

    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """Lifetime of tokens from ``POST /v1/auth/token`` (short: a stolen token soon expires)."""

    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    """How long a resolved token or API key is remembered per process (0: never). A user
    disabled or a key revoked elsewhere is refused by every instance within this time."""

    jwt_secret: SecretStr | None = None
    """HMAC key signing local tokens. Unset outside production: generated once, kept in the DB."""

    oidc_issuer: str | None = None
    """Company identity provider (OIDC): when set with audience and JWKS URL, its tokens work."""
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None

    api_key_pepper: SecretStr | None = None
    """Key of the HMAC under which API keys are stored. Unset outside production: generated."""

    pii_keys: SecretStr | None = None
    """AES-256-GCM keys for phone and ID numbers: ``id:base64key[,id:base64key…]``, the first
    encrypts, all decrypt (rotation). Unset outside production: generated once, kept in the DB."""

    pii_hash_key: SecretStr | None = None
    """HMAC key of the exact-match lookup columns for phone and ID numbers."""

    admin_password: SecretStr | None = None
    """Password of the ``admin`` user created on first start; unset → generated and printed once."""

    rate_limit_per_minute: int = Field(default=1200, ge=1)
    """Requests per principal per minute, per process (see README: several instances)."""

    login_lockout_after: int = Field(default=5, ge=1)
    """Failed logins for one user name before it is locked; each further failure doubles it."""

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

    @field_validator("pii_keys")
    @classmethod
    def _pii_keys_well_formed(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked at start-up: a malformed value would otherwise fail every authenticated request.
        if value is not None:
            parse_pii_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment is not Environment.PRODUCTION:
            return self
        missing = [
            name
            for name in ("jwt_secret", "api_key_pepper", "pii_keys", "pii_hash_key")
            if getattr(self, name) is None
        ]
        if missing:
            raise ValueError(f"production needs these secrets set: {', '.join(missing)}")
        for name in ("jwt_secret", "api_key_pepper", "pii_hash_key"):
            secret: SecretStr = getattr(self, name)
            value = secret.get_secret_value()
            if len(value) < 32 or value.lower() in _PLACEHOLDERS:
                raise ValueError(f"{name} must be a real secret of at least 32 characters")
        return self

    @model_validator(mode="after")
    def _oidc_all_or_nothing(self) -> Settings:
        # With one of the three missing, the identity provider's tokens would be refused as
        # "unsupported" on every request; better to say so at start-up.
        oidc = {"oidc_issuer": self.oidc_issuer, "oidc_audience": self.oidc_audience,
                "oidc_jwks_url": self.oidc_jwks_url}  # fmt: skip
        missing = [name for name, value in oidc.items() if not value]
        if missing and len(missing) < len(oidc):
            raise ValueError(
                "OIDC needs all three of oidc_issuer, oidc_audience and oidc_jwks_url;"
                f" missing: {', '.join(missing)}"
            )
        return self

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
