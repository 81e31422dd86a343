"""Domain errors: a stable machine-readable ``code`` and a human message, no HTTP.

The API layer maps each class to a status (``app.api.problems``); services only raise these.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure. ``code`` is stable: clients branch on it."""

    code: str = "domain_error"
    title: str = "The request cannot be carried out."

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers = headers or {}


class NotFound(DomainError):
    code = "not_found"
    title = "The resource does not exist."


class Conflict(DomainError):
    code = "conflict"
    title = "The request conflicts with the current state of the resource."


class AlreadyExists(Conflict):
    code = "already_exists"
    title = "A resource with the same identity already exists."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "This action is not allowed in the current state."

    def __init__(self, current: str, action: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"Action '{action}' is not allowed while the state is '{current}'.",
            current_state=current,
            action=action,
        )


class CalendarBusy(Conflict):
    """A calendar year was being loaded while due dates were counted on it, several times in a
    row; retrying shortly succeeds."""

    code = "calendar_busy"
    title = "The calendar is being changed; try again shortly."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class StaleVersion(DomainError):
    """The client's ``If-Match`` names a version that is no longer current."""

    code = "stale_version"
    title = "The resource was changed by someone else since you read it."


class PreconditionRequired(DomainError):
    code = "if_match_required"
    title = "This change needs an If-Match header with the ETag you last read."


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a business rule (422)."""

    code = "invalid_input"
    title = "The request is not valid."


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was already used with a different request."


class NoRuleSetInForce(InvalidInput):
    """A ticket dated before the first rule set: its deadlines cannot be computed."""

    code = "no_rule_set_in_force"
    title = "No rule set is in force on that date."


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    title = "The pagination cursor is not valid."


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication is required."

    def __init__(self, detail: str | None = None, *, error: str | None = None) -> None:
        challenge = 'Bearer realm="contact-desk"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "The user name or password is wrong."


class Forbidden(DomainError):
    code = "forbidden"
    title = "You are not allowed to do this."


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many requests."

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class TemporarilyUnavailable(DomainError):
    """Something the request needs, outside this service, cannot be reached; retrying later may
    succeed (503 with ``Retry-After``)."""

    code = "temporarily_unavailable"
    title = "The service is temporarily unavailable."

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
