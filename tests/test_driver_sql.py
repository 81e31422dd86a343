"""A statement compiled once for the driver answers exactly as SQLAlchemy's own execution of
it, with its constants and IN lists kept and only the named values supplied per use."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, bindparam, select
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

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
        assert [tuple(r) for r in got] == [tuple(r) for r in expected]
        assert len(got) == count


def test_every_supplied_value_is_required_and_no_other() -> None:
    statement = select(Branch.code).where(Branch.code == bindparam("code", type_=String))
    query = compile_for_driver(statement, asyncpg.dialect(), {"code": ""})
    assert query.arguments({"code": "HQ"}) == ("HQ",)
    with pytest.raises(ValueError, match="code"):
        query.arguments({})
    with pytest.raises(ValueError, match="other"):
        query.arguments({"code": "HQ", "other": 1})
