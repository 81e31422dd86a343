"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body``. Pure: no I/O, no clock.

A receiver checks a delivery with :func:`verify` (or the same four lines in its own language):
recompute the MAC from the raw body and the timestamp header with the subscription's secret,
compare in constant time, and refuse timestamps far from its own clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-ContactDesk-Timestamp"
SIGNATURE_HEADER = "X-ContactDesk-Signature"
EVENT_HEADER = "X-ContactDesk-Event"
DELIVERY_HEADER = "X-ContactDesk-Delivery"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret (shown to the administrator once)."""
    return "whsec_" + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-ContactDesk-Signature`` value: ``v1=<hex>``."""
    return f"{SCHEME}={_mac(secret, timestamp, body)}"


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature_header: str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``body`` was signed with ``secret`` at ``timestamp``, within ``tolerance`` seconds
    of ``now``. The header may list several ``v1=`` values (comma-separated)."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    expected = _mac(secret, stamp, body)
    for part in signature_header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value, expected):
            return True
    return False
