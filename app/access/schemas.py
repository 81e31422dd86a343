from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, StrictBool, StringConstraints, field_validator

from app.api.schemas import RequestModel, ResponseModel

UserRole = Literal["agent", "supervisor", "quality_inspector", "admin"]
MachineRole = Literal["ivr", "integration"]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{3,64}$")]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_-]{2,32}$")]

MIN_PASSWORD_LENGTH = 12


def _strong_enough(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return value


class TokenOut(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class MeOut(ResponseModel):
    kind: Literal["user", "api_key"]
    id: uuid.UUID
    name: str
    role: str
    branch_id: uuid.UUID | None
    team_id: uuid.UUID | None
    permissions: list[str]


class UserCreate(RequestModel):
    username: Username
    display_name: DisplayName
    role: UserRole
    branch_id: uuid.UUID
    team_id: uuid.UUID | None = None
    password: SecretStr | None = Field(
        default=None, description="Leave out to have one generated and shown once."
    )
    external_subject: str | None = Field(
        default=None, max_length=255, description="The `sub` of the company identity provider."
    )

    _password_strength = field_validator("password")(_strong_enough)


class UserUpdate(RequestModel):
    display_name: DisplayName | None = None
    role: UserRole | None = None
    branch_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    active: StrictBool | None = Field(
        default=None, description="false disables the account at once."
    )


class PasswordReset(RequestModel):
    password: SecretStr | None = Field(
        default=None, description="Leave out to have one generated and shown once."
    )

    _password_strength = field_validator("password")(_strong_enough)


class UserOut(ResponseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    branch_id: uuid.UUID
    team_id: uuid.UUID | None
    external_subject: str | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class UserCreated(UserOut):
    initial_password: str | None = Field(
        default=None, description="Only when generated; shown this once and never again."
    )


class PasswordResetOut(ResponseModel):
    user_id: uuid.UUID
    new_password: str | None = Field(default=None, description="Only when generated; shown once.")


class TeamCreate(RequestModel):
    branch_id: uuid.UUID
    code: Code
    name: DisplayName


class TeamUpdate(RequestModel):
    name: DisplayName | None = None


class TeamOut(ResponseModel):
    id: uuid.UUID
    branch_id: uuid.UUID
    code: str
    name: str
    version: int
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(RequestModel):
    name: DisplayName
    role: MachineRole
    branch_id: uuid.UUID | None = Field(
        default=None, description="Optional: the branch whose tickets this client creates."
    )


class ApiKeyOut(ResponseModel):
    id: uuid.UUID
    name: str
    role: str
    branch_id: uuid.UUID | None
    lookup_id: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once; store it now.")


class AuditEventOut(ResponseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str
    target_id: str | None
    request_id: str | None
    details: dict[str, Any]
