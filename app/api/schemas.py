"""Base models for request and response bodies."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, field_validator


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


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _iso_text_only(value: Any) -> Any:
    """Pydantic reads a number (or numeric text: "0.5") as a Unix time; the schema promises
    ISO 8601 text, so numbers are refused rather than taken as 1970."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("give an ISO 8601 date or date-time, not a number")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text_only)]
"""An instant with its offset, as ISO 8601 text, in requests (bodies and query strings)."""
Day = Annotated[date, BeforeValidator(_iso_text_only)]
"""A calendar date, as ISO 8601 text (YYYY-MM-DD), in requests."""
