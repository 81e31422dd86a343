"""Per-principal rate limiting, in process (token bucket).

Kept in memory on purpose: it costs no database write on the hot paths (the IVR's lookups).
The limit applies per process, so N instances allow up to N times the configured rate; the
README says so. Its job is to stop a runaway client, not to meter usage exactly.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, per_minute: int, *, max_principals: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_principals

    def acquire(self, key: str, now: float | None = None) -> int | None:
        """Take one token; ``None`` if allowed, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            self._evict()
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))

    def _evict(self) -> None:
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
