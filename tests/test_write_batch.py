"""A write batch sent ``alone`` goes without BEGIN/COMMIT: it must still be all-or-nothing, be
committed by itself, and make any later statement of the same request fail loudly (it would
otherwise run outside the batch's atomicity)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.batch import ClaimTaken, Guard, StatementAfterAlone, WriteBatch, new_row
from app.org.models import Branch
from tests.conftest import unique_code


def _branch_batch(*codes: str) -> WriteBatch:
    batch = WriteBatch()
    now = dt.datetime.now(dt.UTC)
    for code in codes:
        batch.add(Branch(id=uuid.uuid4(), code=code, name=f"branch {code}", created_at=now,
                         updated_at=now))  # fmt: skip
    return batch


async def _count(factory: async_sessionmaker[AsyncSession], *codes: str) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).where(Branch.code.in_(codes))) or 0)


async def test_a_batch_sent_alone_is_committed_without_a_commit(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    code = unique_code()
    async with committed() as session:
        assert await _branch_batch(code).execute(session, alone=True)
        # No commit: the session just closes, which would roll a transaction back.
    assert await _count(committed, code) == 1


async def test_a_batch_not_alone_is_rolled_back_with_its_transaction(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    code = unique_code()
    async with committed() as session:
        assert await _branch_batch(code).execute(session)
        await session.rollback()
    assert await _count(committed, code) == 0


async def test_alone_after_an_earlier_statement_joins_the_transaction(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    code = unique_code()
    async with committed() as session:
        await session.execute(text("SELECT 1"))
        assert await _branch_batch(code).execute(session, alone=True)
        await session.rollback()
    assert await _count(committed, code) == 0


async def test_a_batch_sent_alone_is_all_or_nothing(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    good, taken = unique_code(), unique_code()
    async with committed() as session:
        assert await _branch_batch(taken).execute(session, alone=True)
    async with committed() as session:
        with pytest.raises(Exception, match="unique"):
            await _branch_batch(good, taken).execute(session, alone=True)
    assert await _count(committed, good) == 0


async def test_a_statement_after_a_batch_sent_alone_is_refused(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async with committed() as session:
        assert await _branch_batch(unique_code()).execute(session, alone=True)
        with pytest.raises(StatementAfterAlone):
            await session.execute(text("SELECT 1"))
    # The pooled connection forgets it: the next session on it works as usual.
    for _ in range(3):
        async with committed() as session:
            assert await session.scalar(text("SELECT 1")) == 1


async def test_a_new_row_is_flushed_like_any_new_object(session: AsyncSession) -> None:
    code = unique_code()
    now = dt.datetime.now(dt.UTC)
    branch = new_row(Branch, id=uuid.uuid4(), code=code, name="row", created_at=now, updated_at=now)
    assert branch.code == code
    session.add(branch)
    await session.flush()
    stored = await session.scalar(select(Branch.name).where(Branch.code == code))
    assert stored == "row"


def test_a_new_row_refuses_unknown_attributes() -> None:
    with pytest.raises(TypeError, match="nmae"):
        new_row(Branch, code="X1", nmae="typo")


def _claiming(claimed: str, *others: str) -> WriteBatch:
    batch = _branch_batch(*others)
    now = dt.datetime.now(dt.UTC)
    row = {"id": uuid.uuid4(), "code": claimed, "name": "claim", "created_at": now,
           "updated_at": now}  # fmt: skip
    batch.claim(Branch.__table__, row, ("code",))  # type: ignore[arg-type]
    return batch


async def test_a_claim_taken_leaves_the_whole_batch_unwritten(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    key, first, second = unique_code(), unique_code(), unique_code()
    async with committed() as session:
        assert await _claiming(key, first).execute(session, alone=True)
    async with committed() as session:
        with pytest.raises(ClaimTaken):
            await _claiming(key, second).execute(session, alone=True)
    assert await _count(committed, key, first) == 2
    assert await _count(committed, second) == 0


async def test_concurrent_claims_of_one_key_write_once(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    key = unique_code()
    others = [unique_code() for _ in range(8)]

    async def attempt(other: str) -> bool:
        async with committed() as session:
            try:
                return await _claiming(key, other).execute(session, alone=True)
            except ClaimTaken:
                return False

    outcomes = await asyncio.gather(*(attempt(other) for other in others))
    assert outcomes.count(True) == 1
    assert await _count(committed, key, *others) == 2


async def test_a_batch_sent_alone_whose_guard_failed_can_be_sent_again(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    # What a registration does when another instance changed the calendar meanwhile: the
    # guarded statement writes nothing, and the batch is built and sent again.
    code = unique_code()
    async with committed() as session:
        failing = _branch_batch(unique_code())
        failing.require(Guard("branches", "code = :code", (("code", "NO-SUCH-BRANCH"),)))
        assert not await failing.execute(session, alone=True)
        assert await _branch_batch(code).execute(session, alone=True)
        with pytest.raises(StatementAfterAlone):
            await session.execute(text("SELECT 1"))
    assert await _count(committed, code) == 1
