"""The one clock of the service.

Every "now" comes from :func:`utc_now`, so tests can move time without patching ``datetime``,
and pure modules take ``now`` as a parameter instead of reading it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
"""Dates that deadlines are counted in (the statutory calendar is a Beijing-time calendar)."""


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return _source()


@contextmanager
def frozen_at(instant: datetime) -> Iterator[None]:
    """Make :func:`utc_now` return ``instant`` inside the block (tests and simulations)."""
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware instant")
    global _source
    previous = _source
    _source = lambda: instant  # noqa: E731 - a tiny closure reads best here
    try:
        yield
    finally:
        _source = previous
