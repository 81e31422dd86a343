"""Reading a callback: the view its reader may see (personal fields masked unless revealed, the
reveal audited) and the actions the transition table allows this reader now."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import audit
from app.access.permissions import Permission
from app.access.pii import PiiCodec, mask_name, mask_phone
from app.access.principal import Principal
from app.callbacks import repository
from app.callbacks.models import Callback, CallbackPhone
from app.callbacks.schemas import (
    AttemptOut,
    CallbackAction,
    CallbackClockOut,
    CallbackOut,
    CompletionOut,
    CustomerOut,
)
from app.callbacks.service import subject
from app.callbacks.states import Action, State, targets
from app.callbacks.states import allowed_actions as table_actions
from app.clocks import service as clocks
from app.core.errors import Forbidden, InvalidInput
from app.core.phones import national_digits

REVEALABLE = frozenset({"name", "phone"})


def _customer(
    codec: PiiCodec, callback: Callback, phones: list[CallbackPhone], reveal: frozenset[str]
) -> CustomerOut:
    numbers = [national_digits(codec.open(p.phone_enc, purpose=codec.PHONE)) for p in phones]
    name = callback.customer_name
    return CustomerOut(
        name=name if name is None or "name" in reveal else mask_name(name),
        phones=[n if "phone" in reveal else mask_phone(n) for n in numbers],
        revealed=sorted(reveal),
    )


async def view(
    session: AsyncSession,
    principal: Principal,
    codec: PiiCodec,
    callback: Callback,
    *,
    reveal: frozenset[str] = frozenset(),
) -> CallbackOut:
    """The callback as its reader may see it: personal fields masked unless revealed."""
    unknown = reveal - REVEALABLE
    if unknown:
        raise InvalidInput(f"Cannot reveal {', '.join(sorted(unknown))}.", field="reveal")
    if reveal and not principal.can(Permission.PII_READ):
        raise Forbidden("Revealing personal data needs the permission 'pii:read'.")
    if reveal:
        await audit.record(
            session,
            principal,
            "pii.revealed",
            target_kind="callback",
            target_id=callback.id,
            fields=sorted(reveal),
        )
    steps = (await repository.rules(session))[callback.kind].policy.steps
    # Only a completed callback has a record, only an attempted one attempts: the queue's hot
    # paths (claim, attempt) skip the queries that cannot find anything.
    completed = callback.state == State.COMPLETED
    completion = await repository.completion_of(session, callback.id) if completed else None
    attempts = await repository.attempts_of(session, callback.id) if callback.attempts_made else []
    fields = {
        name: getattr(callback, name)
        for name in CallbackOut.model_fields
        if name not in {"customer", "current_method", "attempts", "completion", "clocks"}
    }
    return CallbackOut(
        **fields,
        customer=_customer(
            codec, callback, await repository.phones_of(session, callback.id), reveal
        ),
        current_method=steps[min(callback.method_index, len(steps) - 1)].method.value,
        attempts=[AttemptOut.model_validate(a) for a in attempts],
        completion=CompletionOut.model_validate(completion) if completion else None,
        clocks=[
            CallbackClockOut.model_validate(c)
            for c in await clocks.clocks_for_subject(session, subject(callback.id))
        ],
    )


def allowed_actions(principal: Principal, callback: Callback) -> list[CallbackAction]:
    """What this principal may do with the callback now, read from the transition table."""
    current = State(callback.state)
    holder = callback.assignee_id == principal.id
    result: list[CallbackAction] = []
    for action in table_actions(current):
        if action is Action.CLAIM:
            continue  # taken through the queue (claim-next), not by id
        if action in {Action.ATTEMPT, Action.RELEASE} and not principal.can(
            Permission.CALLBACKS_WORK
        ):
            continue
        if action is Action.ATTEMPT and not holder:
            continue
        if action is Action.RELEASE and not (holder or principal.can(Permission.TICKETS_SUPERVISE)):
            continue
        if action is Action.CANCEL and not principal.can(Permission.TICKETS_WRITE):
            continue
        path = "attempts" if action is Action.ATTEMPT else action.value
        result.append(
            CallbackAction(
                action=action.value,
                href=f"/v1/callbacks/{callback.id}/{path}",
                target_states=sorted(s.value for s in targets(action, current)),
            )
        )
    return result
