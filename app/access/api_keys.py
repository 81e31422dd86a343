"""API keys: ``cdk_<lookup id>_<secret>``; 256 random bits of secret, stored as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "cdk_"


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    lookup_id: str
    secret_hash: str


def _hash(pepper: bytes, secret: str) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def generate(pepper: bytes) -> NewKey:
    lookup_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)  # 32 bytes = 256 bits
    return NewKey(f"{PREFIX}{lookup_id}_{secret}", lookup_id, _hash(pepper, secret))


def split(presented: str) -> tuple[str, str] | None:
    """The (lookup id, secret) of a presented key, or ``None`` if it is not shaped like one."""
    if not presented.startswith(PREFIX):
        return None
    lookup_id, sep, secret = presented[len(PREFIX) :].partition("_")
    if not sep or len(lookup_id) != 12 or not secret:
        return None
    return lookup_id, secret


def matches(pepper: bytes, secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(_hash(pepper, secret), stored_hash)
