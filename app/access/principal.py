"""Who is calling: a user (agent, supervisor, …) or a machine client (IVR, integration)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from app.access.permissions import Permission


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "api_key"]
    id: uuid.UUID
    name: str
    role: str
    branch_id: uuid.UUID | None
    team_id: uuid.UUID | None
    permissions: frozenset[str]

    @property
    def actor(self) -> str:
        """How this principal is named in timelines and the audit log."""
        return f"{'user' if self.kind == 'user' else 'api_key'}:{self.id}"

    def can(self, permission: Permission | str) -> bool:
        return str(permission) in self.permissions

    @property
    def sees_all_branches(self) -> bool:
        return self.can(Permission.ALL_BRANCHES)
