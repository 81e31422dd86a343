from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from app.api.schemas import RequestModel, ResponseModel

BranchCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9_-]{2,32}$"),
    Field(description="Short code, upper-case letters, digits, _ and -.", examples=["SH01"]),
]
BranchName = Annotated[
    str, StringConstraints(min_length=1, max_length=200), Field(examples=["上海分公司"])
]


class BranchCreate(RequestModel):
    code: BranchCode
    name: BranchName


class BranchUpdate(RequestModel):
    """Only the fields given are changed."""

    name: BranchName | None = None
    active: StrictBool | None = None


class BranchOut(ResponseModel):
    id: uuid.UUID
    code: str
    name: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
