"""A statement compiled once for the driver answers exactly as SQLAlchemy's own execution of
it, with its constants and IN lists kept and only the named values supplied per use."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import direct
from app.db.driver_sql import compile_for_driver
from app.org.models import Branch
from tests.conftest import unique_code


async def test_a_compiled_query_answers_as_sqlalchemy_does(session: AsyncSession) -> None:
    branches = [Branch(id=uuid.uuid4(), code=unique_code(), name=f"分公司{n}") for n in range(3)]
    session.add_all(branches)
    await session.flush()
    statement = (
        select(Branch.code, Branch.name)
        .where(
            Branch.code.in_([b.code for b in branches[:2]]),
            Branch.name != bindparam("not_named", type_=String),
        )
        .order_by(Branch.code)
    )
    query = compile_for_driver(statement, asyncpg.dialect(), {"not_named": ""})
    for excluded, count in (("", 2), (branches[0].name, 1), (branches[2].name, 2)):
        expected = (await session.execute(statement, {"not_named": excluded})).all()
        got = await query.rows(session, {"not_named": excluded})
        assert [(r["code"], r["name"]) for r in got] == [tuple(r) for r in expected]
        assert len(got) == count


async def test_a_session_that_sent_nothing_reads_alone_through_the_direct_pool(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    statement = select(
        func.upper(bindparam("word", type_=String)).label("loud"), literal(3).label("three")
    )
    query = compile_for_driver(statement, asyncpg.dialect(), {"word": ""})
    async with committed() as session:
        assert direct.pool_for(session) is not None
        got = await query.rows(session, {"word": "呼叫 call"})
        assert not session.in_transaction()  # nothing went through the session: nothing to commit
        expected = (await session.execute(statement, {"word": "呼叫 call"})).all()
    assert [(r["loud"], r["three"]) for r in got] == [tuple(r) for r in expected]
    assert [(r["loud"], r["three"]) for r in got] == [("呼叫 CALL", 3)]


def test_every_supplied_value_is_required_and_no_other() -> None:
    statement = select(Branch.code).where(Branch.code == bindparam("code", type_=String))
    query = compile_for_driver(statement, asyncpg.dialect(), {"code": ""})
    assert query.arguments({"code": "HQ"}) == ("HQ",)
    with pytest.raises(ValueError, match="code"):
        query.arguments({})
    with pytest.raises(ValueError, match="other"):
        query.arguments({"code": "HQ", "other": 1})
