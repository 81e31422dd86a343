"""Reclassifying a complaint: the cause and product line its statistics count it under (C12).

An IVR complaint is registered under cause ``other`` (the machine cannot tell), and an agent may
pick the wrong cause or product line; left as they are, both stay in the figures reported to
management and the regulator. The timeline event carries the whole classification before and
after, which is what the monthly counts are folded from (``app.complaints.reporting``).
"""

from __future__ import annotations

import uuid
from typing import Any

from app.api.etag import ExpectedVersion
from app.complaints import reporting, repository
from app.complaints import schemas as s
from app.complaints.models import Complaint
from app.complaints.states import Action
from app.complaints.workflow import Context, lock, record
from app.core.errors import InvalidInput


async def reclassify(
    ctx: Context, complaint_id: uuid.UUID, body: s.Reclassify, expected: ExpectedVersion
) -> Complaint:
    if body.cause_code is not None and not await repository.cause_exists(
        ctx.session, body.cause_code
    ):
        raise InvalidInput(f"Unknown cause code {body.cause_code}.", field="cause_code")
    complaint, to = await lock(ctx, complaint_id, Action.RECLASSIFY, expected)
    before = reporting.classification(complaint)
    if body.cause_code is not None:
        complaint.cause_code = body.cause_code
    if body.product_line is not None:
        complaint.product_line = body.product_line
    after = reporting.classification(complaint)
    if after == before:
        raise InvalidInput("The complaint is already classified so.")
    changed: dict[str, Any] = {
        field: {"from": before[dimension], "to": after[dimension]}
        for dimension, field in reporting.CLASSIFIED_FIELDS.items()
        if before[dimension] != after[dimension]
    }
    data = {"changed": changed, "classification": {"before": before, "after": after}}
    return await record(ctx, complaint, Action.RECLASSIFY, to, reason=body.reason, data=data)
