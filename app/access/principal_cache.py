"""Who a credential belongs to, remembered for a few seconds.

Every request presents a token or an API key; resolving it reads the user or key row. At the
rates the hotline sends (hundreds of requests a second from a handful of principals) that read
is a large share of each request, for an answer that almost never changes. So a resolved
principal is kept for ``auth_cache_seconds`` (never past its token's expiry), keyed by a hash of
the credential, one cache per app. Changes made through this service (disabling a user, a new
role, a revoked key) clear every cache of the process at once; other instances see them within
``auth_cache_seconds``.
"""

from __future__ import annotations

import hashlib
import time
import weakref

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.access.principal import Principal

_MAX_ENTRIES = 10_000


class PrincipalCache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[bytes, tuple[float, Principal]] = {}
        _caches.add(self)

    @staticmethod
    def _key(credential: str) -> bytes:
        return hashlib.sha256(credential.encode()).digest()

    def get(self, credential: str) -> Principal | None:
        key = self._key(credential)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, credential: str, principal: Principal, *, valid_for: float) -> None:
        """Remember for ``min(valid_for, self.seconds)`` (a token's remaining lifetime)."""
        seconds = min(valid_for, self.seconds)
        if seconds <= 0:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            # Crude but bounded: a flood of distinct credentials cannot grow the process.
            self._entries.clear()
        self._entries[self._key(credential)] = (time.monotonic() + seconds, principal)

    def clear(self) -> None:
        self._entries.clear()


_caches: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def forget_everyone() -> None:
    """Forget every principal in this process: a user, role or key changed."""
    for cache in list(_caches):
        cache.clear()


def forget_everyone_when_committed(session: AsyncSession) -> None:
    """Forget every principal now and again once ``session`` commits its change.

    Forgetting only before the commit leaves a gap: a request arriving meanwhile reads the row
    as last committed, the old user or key, and would remember it for ``seconds`` more after
    the change is in. Forgetting again after the commit closes that gap in this process."""
    forget_everyone()
    event.listen(session.sync_session, "after_commit", _forget_after_commit, once=True)


def _forget_after_commit(_session: Session) -> None:
    forget_everyone()
