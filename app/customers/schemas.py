"""Request and response bodies of the customer and policy API (personal data masked)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.api.schemas import RequestModel, ResponseModel
from app.complaints.schemas import ProductLine

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=32)]
IdNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,30}$")]
PolicyNumber = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{4,64}$")]


class CustomerCreate(RequestModel):
    name: Name
    id_number: IdNumber | None = None
    phones: list[Phone] = Field(default_factory=list, max_length=5)


class CustomerUpdate(RequestModel):
    """Identify a caller: an "unknown caller" created by the IVR gets its name and ID number."""

    name: Name | None = None
    id_number: IdNumber | None = None
    add_phones: list[Phone] = Field(default_factory=list, max_length=5)


class PolicyCreate(RequestModel):
    number: PolicyNumber
    product_line: ProductLine
    branch_id: uuid.UUID | None = Field(default=None, description="Defaults to yours.")
    holder_id: uuid.UUID | None = None


class CustomerOut(ResponseModel):
    id: uuid.UUID
    name: str | None = Field(description="Masked; null for a caller not identified yet.")
    id_number: str | None = Field(description="Masked.")
    phones: list[str] = Field(description="Masked.")
    source: str
    version: int
    created_at: datetime
    updated_at: datetime


class PolicyOut(ResponseModel):
    id: uuid.UUID
    number: str
    product_line: str
    branch_id: uuid.UUID
    holder_id: uuid.UUID | None
    holder_name: str | None = Field(default=None, description="Masked.")
    created_at: datetime
