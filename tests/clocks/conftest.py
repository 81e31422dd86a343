"""These tests call the API as an administrator (who holds every permission)."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.conftest import Actor


@pytest.fixture(autouse=True)
def _as_admin(request: pytest.FixtureRequest) -> None:
    # Only for tests that use the transactional client; race tests build their own apps.
    if "client" in request.fixturenames:
        client: AsyncClient = request.getfixturevalue("client")
        admin: Actor = request.getfixturevalue("admin")
        client.headers.update(admin.headers)
