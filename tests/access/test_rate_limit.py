"""Per-principal token buckets: pure arithmetic with ``now`` given, then over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.access.ratelimit import RateLimiter
from app.core.config import Settings
from tests.access.helpers import assert_problem
from tests.conftest import add_actor, build_app


def test_burst_up_to_the_limit_then_a_wait_in_seconds() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.acquire("a", now=100.0) for _ in range(3)] == [None, None, None]
    assert limiter.acquire("a", now=100.0) == 20  # one token per 20 s at 3 a minute
    assert limiter.acquire("a", now=110.0) == 10
    assert limiter.acquire("a", now=110.5) == 10  # a partial second is rounded up


def test_tokens_refill_over_time_up_to_the_capacity() -> None:
    limiter = RateLimiter(per_minute=60)  # one per second
    for _ in range(60):
        assert limiter.acquire("a", now=0.0) is None
    assert limiter.acquire("a", now=0.0) == 1
    assert limiter.acquire("a", now=1.0) is None
    assert limiter.acquire("a", now=1.0) == 1
    # A long pause refills the bucket to its capacity, no further.
    allowed = [limiter.acquire("a", now=10_000.0) is None for _ in range(61)]
    assert allowed.count(True) == 60


def test_principals_have_separate_buckets() -> None:
    limiter = RateLimiter(per_minute=1)
    assert limiter.acquire("user:a", now=0.0) is None
    assert limiter.acquire("user:a", now=0.0) == 60
    assert limiter.acquire("user:b", now=0.0) is None


def test_least_recently_used_buckets_are_evicted_beyond_the_maximum() -> None:
    limiter = RateLimiter(per_minute=1, max_principals=2)
    for key in ("a", "b", "c"):
        assert limiter.acquire(key, now=0.0) is None
    assert limiter.acquire("c", now=0.0) == 60  # kept
    assert limiter.acquire("a", now=0.0) is None  # forgotten, so a fresh bucket


@given(
    per_minute=st.integers(min_value=1, max_value=600),
    gaps=st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), max_size=200),
)
def test_never_more_than_the_burst_plus_the_refill(per_minute: int, gaps: list[float]) -> None:
    limiter = RateLimiter(per_minute=per_minute)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        wait = limiter.acquire("k", now=now)
        if wait is None:
            allowed += 1
        else:
            assert wait >= 1
    assert allowed <= per_minute + now * per_minute / 60 + 1e-6


@given(
    per_minute=st.integers(min_value=1, max_value=6000),
    gaps=st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), min_size=1),
)
def test_waiting_the_advised_seconds_is_enough(per_minute: int, gaps: list[float]) -> None:
    limiter = RateLimiter(per_minute=per_minute)
    now = 0.0
    for gap in gaps:
        now += gap
        wait = limiter.acquire("k", now=now)
        if wait is not None:
            # A real client waits a little longer than Retry-After; the microsecond only absorbs
            # the float rounding of ``now - last`` (exactly ``wait`` can come out a hair short).
            now += wait + 1e-6
            assert limiter.acquire("k", now=now) is None


@pytest.fixture
async def limited_app(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> FastAPI:
    return build_app(
        settings.model_copy(update={"rate_limit_per_minute": 3}), engine, session_factory
    )


@pytest.fixture
async def limited_client(limited_app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=limited_app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://limited") as client:
        yield client


async def test_over_http_the_fourth_request_is_429_for_that_principal_only(
    limited_app: FastAPI,
    limited_client: AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    busy = await add_actor(limited_app, session_factory, role="agent")
    calm = await add_actor(limited_app, session_factory, role="agent")
    for _ in range(3):
        assert (await limited_client.get("/v1/me", headers=busy.headers)).status_code == 200
    refused = await limited_client.get("/v1/me", headers=busy.headers)
    assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert (await limited_client.get("/v1/me", headers=calm.headers)).status_code == 200
