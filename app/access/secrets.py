"""Key material: from settings, or (outside production) generated once and kept in the DB."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import LocalSecret
from app.core.config import Settings, parse_pii_keys


@dataclass(frozen=True)
class KeyMaterial:
    jwt_secret: bytes
    api_key_pepper: bytes
    pii_keys: tuple[tuple[str, bytes], ...]
    """(key id, 32-byte AES key); the first encrypts, all decrypt."""
    pii_hash_key: bytes


async def _local(session: AsyncSession, name: str, make: str) -> str:
    await session.execute(
        insert(LocalSecret).values(name=name, value=make).on_conflict_do_nothing()
    )
    value = await session.scalar(select(LocalSecret.value).where(LocalSecret.name == name))
    assert value is not None
    return value


async def load_key_material(session: AsyncSession, settings: Settings) -> KeyMaterial:
    """Resolve every key; generated ones are inserted if missing (first writer wins)."""

    async def pick(configured: object, name: str, fresh: str) -> str:
        if configured is not None:
            return str(configured.get_secret_value())  # type: ignore[attr-defined]
        return await _local(session, name, fresh)

    def token() -> str:
        return secrets.token_urlsafe(48)

    jwt_secret = await pick(settings.jwt_secret, "jwt_secret", token())
    pepper = await pick(settings.api_key_pepper, "api_key_pepper", token())
    hash_key = await pick(settings.pii_hash_key, "pii_hash_key", token())
    fresh_pii = "local1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    pii_spec = await pick(settings.pii_keys, "pii_keys", fresh_pii)
    await session.commit()
    return KeyMaterial(
        jwt_secret=jwt_secret.encode(),
        api_key_pepper=pepper.encode(),
        pii_keys=parse_pii_keys(pii_spec),
        pii_hash_key=hash_key.encode(),
    )
