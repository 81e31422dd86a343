"""Permission names and the default role → permission table (seeded into ``role_permissions``).

The table in the database is what the service checks; this module is its initial content and
the vocabulary routes declare.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    BRANCHES_READ = "branches:read"
    BRANCHES_WRITE = "branches:write"
    USERS_ADMIN = "users:admin"
    API_KEYS_ADMIN = "api_keys:admin"
    AUDIT_READ = "audit:read"
    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"
    TICKETS_SUPERVISE = "tickets:supervise"
    PII_READ = "pii:read"
    CALENDAR_READ = "calendar:read"
    CALENDAR_WRITE = "calendar:write"
    RULES_READ = "rules:read"
    RULES_WRITE = "rules:write"
    REPORTS_READ = "reports:read"
    CALLBACKS_WORK = "callbacks:work"
    INTAKE_WRITE = "intake:write"
    CALLERS_LOOKUP = "callers:lookup"
    STATUS_PUSH = "status:push"
    EVENTS_READ = "events:read"
    """Reads the change feed of every branch (integrations: claims, SMS gateway, BI)."""
    WEBHOOKS_ADMIN = "webhooks:admin"
    ALL_BRANCHES = "scope:all_branches"
    """Sees every branch's tickets (otherwise only the principal's own branch)."""


_AGENT = {
    Permission.BRANCHES_READ,
    Permission.TICKETS_READ,
    Permission.TICKETS_WRITE,
    Permission.PII_READ,  # to call a customer back; every reveal is audited
    Permission.CALENDAR_READ,
    Permission.RULES_READ,
    Permission.CALLBACKS_WORK,
    Permission.CALLERS_LOOKUP,
}

DEFAULT_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "agent": frozenset(_AGENT),
    "supervisor": frozenset(_AGENT | {Permission.TICKETS_SUPERVISE, Permission.REPORTS_READ}),
    "quality_inspector": frozenset(
        {
            Permission.BRANCHES_READ,
            Permission.TICKETS_READ,
            Permission.CALENDAR_READ,
            Permission.RULES_READ,
            Permission.REPORTS_READ,
            Permission.AUDIT_READ,
        }
    ),
    "admin": frozenset(Permission),
    "ivr": frozenset({Permission.INTAKE_WRITE, Permission.CALLERS_LOOKUP}),
    "integration": frozenset({Permission.STATUS_PUSH, Permission.EVENTS_READ}),
}
