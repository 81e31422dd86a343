"""Queries on callbacks. Every read goes through ``readable_by``: out of scope is not found."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    Sequence,
    String,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import Team
from app.access.principal import Principal
from app.access.scope import readable_by
from app.callbacks.models import (
    OPEN_STATES,
    Callback,
    CallbackAttempt,
    CallbackCompletion,
    CallbackContactPolicy,
    CallbackPhone,
    CallbackQuestionnaire,
)
from app.callbacks.policy import ContactPolicy, Method, Step
from app.callbacks.states import OPEN, WAITING, State
from app.core.errors import InvalidCursor
from app.tickets import numbers
from app.tickets.items import Criterion, item_query

NUMBER_SEQUENCE = Sequence("callback_number_seq", metadata=Callback.metadata)


async def next_number(session: AsyncSession, on: dt.date) -> str:
    """``HF20261122000123``: the day it was scheduled and a sequence (回访 = huifang)."""
    return await numbers.next_number(session, "HF", on, NUMBER_SEQUENCE)


def to_policy(row: CallbackContactPolicy) -> ContactPolicy:
    return ContactPolicy(
        kind=row.kind,
        steps=tuple(
            Step(Method(method), attempts)
            for method, attempts in zip(row.methods, row.attempts, strict=True)
        ),
        spacing=dt.timedelta(minutes=row.spacing_minutes),
        callable_from=row.callable_from,
        callable_to=row.callable_to,
        working_days_only=row.working_days_only,
    )


@dataclass(frozen=True, slots=True)
class KindRules:
    """A kind's contact policy and the code of its questionnaire."""

    policy: ContactPolicy
    questionnaire_code: str


POLICY_CACHE_SECONDS = 60.0
_rules: tuple[float, dict[str, KindRules]] | None = None


async def policy_rows(session: AsyncSession) -> list[CallbackContactPolicy]:
    rows = await session.scalars(select(CallbackContactPolicy).order_by(CallbackContactPolicy.kind))
    return list(rows.all())


async def rules(session: AsyncSession) -> dict[str, KindRules]:
    """Every kind's rules, read at most once a minute per process: the queue's two hot paths
    (claim, attempt) need them on every call, and they change only with a migration."""
    global _rules
    if _rules is None or time.monotonic() - _rules[0] > POLICY_CACHE_SECONDS:
        loaded = {
            row.kind: KindRules(to_policy(row), row.questionnaire_code)
            for row in await policy_rows(session)
        }
        _rules = (time.monotonic(), loaded)
    return _rules[1]


async def questionnaires(session: AsyncSession) -> dict[str, CallbackQuestionnaire]:
    rows = await session.scalars(select(CallbackQuestionnaire))
    return {row.code: row for row in rows}


async def questionnaire(session: AsyncSession, code: str) -> CallbackQuestionnaire | None:
    return await session.get(CallbackQuestionnaire, code)


async def team_in_branch(session: AsyncSession, team_id: uuid.UUID, branch_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Team.id).where(Team.id == team_id, Team.branch_id == branch_id)
    )
    return found is not None


async def get(
    session: AsyncSession, principal: Principal, callback_id: uuid.UUID, *, lock: bool = False
) -> Callback | None:
    query = select(Callback).where(
        Callback.id == callback_id, readable_by(principal, Callback.branch_id)
    )
    if lock:
        query = query.with_for_update()
    callback: Callback | None = await session.scalar(query)
    return callback


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a rule-created callback unless its ``dedupe_key`` exists; its id, or ``None``.

    A concurrent insert of the same key waits for the first to commit, then does nothing.
    """
    result = await session.execute(
        insert(Callback)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Callback.dedupe_key])
        .returning(Callback.id)
    )
    inserted: uuid.UUID | None = result.scalar_one_or_none()
    return inserted


async def by_dedupe_key(session: AsyncSession, key: str) -> Callback | None:
    callback: Callback | None = await session.scalar(
        select(Callback).where(Callback.dedupe_key == key)
    )
    return callback


async def phones_of(session: AsyncSession, callback_id: uuid.UUID) -> list[CallbackPhone]:
    rows = await session.scalars(
        select(CallbackPhone)
        .where(CallbackPhone.callback_id == callback_id)
        .order_by(CallbackPhone.position)
    )
    return list(rows.all())


async def attempts_of(session: AsyncSession, callback_id: uuid.UUID) -> list[CallbackAttempt]:
    rows = await session.scalars(
        select(CallbackAttempt)
        .where(CallbackAttempt.callback_id == callback_id)
        .order_by(CallbackAttempt.number)
    )
    return list(rows.all())


async def completion_of(session: AsyncSession, callback_id: uuid.UUID) -> CallbackCompletion | None:
    return await session.get(CallbackCompletion, callback_id)


# --- the queue ----------------------------------------------------------------------------------


def _team_condition(principal: Principal, team_id: uuid.UUID | None) -> Any:
    """A team asked for: that team's callbacks. Otherwise: unrouted ones and the agent's team's."""
    if team_id is not None:
        return Callback.team_id == team_id
    if principal.team_id is None:
        return Callback.team_id.is_(None)
    return or_(Callback.team_id.is_(None), Callback.team_id == principal.team_id)


async def current_hold(
    session: AsyncSession, principal: Principal, now: dt.datetime
) -> Callback | None:
    """The callback this agent holds now (an unexpired hold), if any."""
    callback: Callback | None = await session.scalar(
        select(Callback)
        .where(
            Callback.assignee_id == principal.id,
            Callback.state == State.IN_PROGRESS,
            Callback.held_until > now,
            readable_by(principal, Callback.branch_id),
        )
        .order_by(Callback.held_until)
        .limit(1)
        .with_for_update()
    )
    return callback


def claim_query(
    principal: Principal, *, now: dt.datetime, kinds: list[str], team_id: uuid.UUID | None
) -> Select[tuple[Callback]]:
    """The most urgent callable callback, to be locked; rows other agents are claiming are
    skipped.

    Callable: waiting (or held by a hold that has expired), not before its window opens, its
    next attempt time reached, of a kind whose callable hours include now (``kinds``). Read in
    the order of ``ix_callbacks_queue``, whose predicate is repeated literally so that even a
    generic plan may use it: closed callbacks (the history) are never scanned. In READ
    COMMITTED a row claimed and committed by another agent meanwhile is re-checked against
    the WHERE clause when locked, and dropped.
    """
    return (
        select(Callback)
        .where(
            text(OPEN_STATES),
            or_(
                Callback.state.in_([s.value for s in WAITING]),
                and_(Callback.state == State.IN_PROGRESS, Callback.held_until <= now),
            ),
            Callback.not_before <= now,
            Callback.next_attempt_at <= now,
            Callback.kind.in_(kinds),
            readable_by(principal, Callback.branch_id),
            _team_condition(principal, team_id),
        )
        .order_by(Callback.due_at, Callback.priority, Callback.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def lock_next_claimable(
    session: AsyncSession,
    principal: Principal,
    *,
    now: dt.datetime,
    kinds: list[str],
    team_id: uuid.UUID | None,
) -> Callback | None:
    callback: Callback | None = await session.scalar(
        claim_query(principal, now=now, kinds=kinds, team_id=team_id)
    )
    return callback


# --- lists and reports --------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackFilter:
    state: str | None = None
    kind: str | None = None
    branch_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    due_before: dt.datetime | None = None
    ticket_kind: str | None = None
    ticket_id: uuid.UUID | None = None


def _where(flt: CallbackFilter) -> list[Any]:
    equal = {
        Callback.state: flt.state,
        Callback.kind: flt.kind,
        Callback.branch_id: flt.branch_id,
        Callback.team_id: flt.team_id,
        Callback.assignee_id: flt.assignee_id,
        Callback.ticket_kind: flt.ticket_kind,
        Callback.ticket_id: flt.ticket_id,
    }
    conditions: list[Any] = [
        column == value for column, value in equal.items() if value is not None
    ]
    if flt.due_before is not None:
        conditions.append(Callback.due_at < flt.due_before)
    return conditions


async def search(
    session: AsyncSession,
    principal: Principal,
    flt: CallbackFilter,
    *,
    limit: int,
    after: list[Any] | None,
) -> list[Callback]:
    """Most urgent first: keyset pages over (due_at, id)."""
    query = select(Callback).where(readable_by(principal, Callback.branch_id), *_where(flt))
    if after is not None:
        try:
            due_at = dt.datetime.fromisoformat(str(after[0]))
            last_id = uuid.UUID(str(after[1]))
        except (IndexError, ValueError) as exc:
            raise InvalidCursor() from exc
        query = query.where(
            tuple_(Callback.due_at, Callback.id) > tuple_(literal(due_at), literal(last_id))
        )
    query = query.order_by(Callback.due_at, Callback.id).limit(limit)
    return list((await session.scalars(query)).all())


GROUP_COLUMNS = {"team": Callback.team_id, "agent": Callback.assignee_id, "kind": Callback.kind}


async def success_counts(
    session: AsyncSession,
    principal: Principal,
    *,
    due_after: dt.datetime,
    due_until: dt.datetime,
    group_by: str,
) -> list[dict[str, Any]]:
    """Counts per group and in total (ROLLUP: the row whose ``is_total`` is 1), one query."""
    column = GROUP_COLUMNS[group_by]
    outcome = Callback.outcome
    query = (
        select(
            cast(column, String).label("grp"),
            func.grouping(column).label("is_total"),
            func.count().label("due"),
            func.count().filter(outcome == "reached").label("reached"),
            func.count().filter(outcome == "refused").label("refused"),
            func.count().filter(outcome == "unreachable").label("unreachable"),
            func.count().filter(outcome.is_(None)).label("open"),
            func.count()
            .filter(outcome == "reached", Callback.closed_at <= Callback.due_at)
            .label("completed_on_time"),
        )
        .where(
            readable_by(principal, Callback.branch_id),
            Callback.due_at > due_after,
            Callback.due_at <= due_until,
            Callback.state != State.CANCELLED,
        )
        .group_by(func.rollup(column))
        .order_by(func.grouping(column), cast(column, String))
    )
    return [dict(row._mapping) for row in await session.execute(query)]


def open_query(
    principal: Principal, *, phone_hash: Criterion | None, policy_number: Criterion | None
) -> Select[Any] | None:
    """Callbacks still owed to the caller (by one of their phones, or by policy number), in
    scope, as open items (``app.tickets.items``)."""
    condition: Any
    if policy_number is not None:
        condition = Callback.policy_number == policy_number
    elif phone_hash is not None:
        condition = Callback.id.in_(
            select(CallbackPhone.callback_id).where(CallbackPhone.phone_hash == phone_hash)
        )
    else:
        return None
    return item_query(
        "callback",
        Callback.id,
        Callback.number,
        Callback.state,
        Callback.branch_id,
        Callback.created_at,
    ).where(
        condition,
        Callback.state.in_(sorted(s.value for s in OPEN)),
        readable_by(principal, Callback.branch_id),
    )
