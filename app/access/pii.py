"""Personal data: masking for responses, AES-GCM at rest, keyed hashes for exact lookups.

Masking and hashing are pure. The cipher is keyed by ``KeyMaterial``; its output names the key
id, so old rows stay readable after a new key is put first (see README: rotating keys).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT_VERSION = "v1"


def mask_phone(phone: str) -> str:
    """``13800138000`` → ``138****8000``; short numbers keep only their last two digits."""
    digits = re.sub(r"\D", "", phone)
    # First three and last four only when at least four digits stay hidden: for a 7- or 8-digit
    # local number that rule would show all or nearly all of it.
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_id_number(id_number: str) -> str:
    """First and last character only: ``110101199003071234`` → ``1****************4``."""
    if len(id_number) <= 2:
        return "*" * len(id_number)
    return id_number[0] + "*" * (len(id_number) - 2) + id_number[-1]


def mask_name(name: str) -> str:
    """Family name only: ``张三`` → ``张*``, ``王小明`` → ``王**``, ``Li Lei`` → ``L*****``."""
    stripped = name.strip()
    if not stripped:
        return ""
    return stripped[0] + "*" * (len(stripped) - 1)


class FieldCipher:
    """AES-256-GCM for one field value at a time; associated data binds it to its column."""

    def __init__(self, keys: tuple[tuple[str, bytes], ...]) -> None:
        self._current_id, current = keys[0]
        self._current = AESGCM(current)
        self._by_id = {key_id: AESGCM(raw) for key_id, raw in keys}

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._current.encrypt(nonce, plaintext.encode(), purpose.encode())
        payload = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{_FORMAT_VERSION}:{self._current_id}:{payload}"

    def decrypt(self, token: str, *, purpose: str) -> str:
        version, key_id, payload = token.split(":", 2)
        if version != _FORMAT_VERSION or key_id not in self._by_id:
            raise ValueError("value was encrypted with an unknown key or format")
        raw = base64.urlsafe_b64decode(payload.encode())
        return self._by_id[key_id].decrypt(raw[:12], raw[12:], purpose.encode()).decode()

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1] != self._current_id


def lookup_hash(hash_key: bytes, normalised_value: str, *, purpose: str) -> str:
    """A keyed hash for exact-match lookups: equal inputs give equal hashes, nothing more."""
    message = f"{purpose}\x1f{normalised_value}".encode()
    return hmac.new(hash_key, message, hashlib.sha256).hexdigest()


class PiiCodec:
    """Everything a feature needs to store and show personal numbers, keyed once per process."""

    PHONE = "phone"
    ID_NUMBER = "id_number"

    def __init__(self, cipher: FieldCipher, hash_key: bytes) -> None:
        self.cipher = cipher
        self._hash_key = hash_key

    def seal(self, value: str, *, purpose: str) -> str:
        return self.cipher.encrypt(value, purpose=purpose)

    def open(self, token: str, *, purpose: str) -> str:
        return self.cipher.decrypt(token, purpose=purpose)

    def lookup(self, normalised: str, *, purpose: str) -> str:
        return lookup_hash(self._hash_key, normalised, purpose=purpose)

    def id_lookup(self, id_number: str) -> str:
        # ID numbers end in a check character that may be written x or X.
        return self.lookup(id_number.strip().upper(), purpose=self.ID_NUMBER)
