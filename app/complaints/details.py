"""Correcting a complaint's details: the complainant's name, phones, ID number and relation,
the policy number and the remedy requested.

What an agent gets wrong at registration, or the IVR cannot know (a caller's name), would
otherwise stay wrong: a mistyped phone means callbacks never reach the complainant and the
caller lookup never finds the complaint. The timeline keeps both values, with personal numbers
masked, and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from app.access.pii import PiiCodec, mask_id_number, mask_name, mask_phone
from app.api.etag import ExpectedVersion
from app.complaints import repository
from app.complaints import schemas as s
from app.complaints.models import ComplainantPhone, Complaint
from app.complaints.service import normalise_phones
from app.complaints.states import Action
from app.complaints.workflow import Context, lock, record
from app.core.errors import InvalidInput
from app.core.phones import national_digits

Change = dict[str, Any]
Mask = Callable[[Any], Any]
Note = Callable[..., None]


def _as_is(value: Any) -> Any:
    return value


def _masked(mask: Callable[[str], str]) -> Mask:
    return lambda value: mask(value) if value else value


def _masked_phones(phones: list[str]) -> list[str]:
    """As the complaint shows them: national digits, masked."""
    return [mask_phone(national_digits(phone)) for phone in phones]


async def correct(
    ctx: Context, complaint_id: uuid.UUID, body: s.CorrectDetails, expected: ExpectedVersion
) -> Complaint:
    complaint, to = await lock(ctx, complaint_id, Action.CORRECT_DETAILS, expected)
    assert ctx.codec is not None, "the router passes the codec to this transition"
    given = body.model_fields_set
    changed: dict[str, Change] = {}

    def note(name: str, before: Any, after: Any, shown: Mask = _as_is) -> None:
        # Compared in full, recorded as shown: two names may mask alike and still differ.
        if before != after:
            changed[name] = {"from": shown(before), "to": shown(after)}

    if body.complainant_name is not None:  # given: the schema refuses to clear it
        note(
            "complainant_name",
            complaint.complainant_name,
            body.complainant_name,
            _masked(mask_name),
        )
        complaint.complainant_name = body.complainant_name
    _correct_relation(complaint, body, note)
    if "id_number" in given:
        _correct_id_number(ctx.codec, complaint, body.id_number, note)
    for field in ("policy_number", "remedy_requested"):
        if field in given:
            note(field, getattr(complaint, field), getattr(body, field))
            setattr(complaint, field, getattr(body, field))
    if body.phones is not None:  # given: the schema refuses to clear them
        await _replace_phones(ctx, ctx.codec, complaint, body.phones, note)
    if not changed:
        raise InvalidInput("Nothing given differs from the complaint's details.")
    return await record(
        ctx, complaint, Action.CORRECT_DETAILS, to, reason=body.reason, data={"changed": changed}
    )


def _correct_relation(complaint: Complaint, body: s.CorrectDetails, note: Note) -> None:
    given = body.model_fields_set
    relation = body.relation if "relation" in given else complaint.complainant_relation
    reference = complaint.authorisation_ref
    if "authorisation_ref" in given:
        reference = body.authorisation_ref
    if relation == "authorised_agent" and not reference:
        raise InvalidInput(
            "An authorised agent needs authorisation_ref.", field="authorisation_ref"
        )
    assert relation is not None
    note("relation", complaint.complainant_relation, relation)
    note("authorisation_ref", complaint.authorisation_ref, reference)
    complaint.complainant_relation = relation
    complaint.authorisation_ref = reference


def _correct_id_number(
    codec: PiiCodec, complaint: Complaint, id_number: str | None, note: Note
) -> None:
    before = (
        codec.open(complaint.id_number_enc, purpose=codec.ID_NUMBER)
        if complaint.id_number_enc
        else None
    )
    after = id_number.upper() if id_number else None
    if before == after:
        return
    note("id_number", before, after, _masked(mask_id_number))
    complaint.id_number_enc = codec.seal(after, purpose=codec.ID_NUMBER) if after else None
    complaint.id_number_hash = codec.id_lookup(after) if after else None


async def _replace_phones(
    ctx: Context, codec: PiiCodec, complaint: Complaint, raw: list[str], note: Note
) -> None:
    phones = normalise_phones(raw, "phones")
    stored = await repository.phones_of(ctx.session, complaint.id)
    before = [codec.open(p.phone_enc, purpose=codec.PHONE) for p in stored]
    if before == phones:
        return
    note("phones", before, phones, _masked_phones)
    for row in stored:
        await ctx.session.delete(row)
    await ctx.session.flush()  # the old rows go before new ones take their positions
    for position, phone in enumerate(phones):
        ctx.session.add(
            ComplainantPhone(
                complaint_id=complaint.id,
                position=position,
                phone_enc=codec.seal(phone, purpose=codec.PHONE),
                phone_hash=codec.lookup(phone, purpose=codec.PHONE),
            )
        )
