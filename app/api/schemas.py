"""Base models for request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    return False


class RequestModel(BaseModel):
    """Every request body: unknown fields are refused (no mass assignment), and no text may
    hold a NUL character, which PostgreSQL cannot store."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if _contains_nul(value):
            raise ValueError("text must not contain NUL (\\u0000) characters")
        return value


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
