"""The one mapper from every failure to RFC 9457 ``application/problem+json``.

Each problem carries a stable ``code`` (clients branch on it), a human ``detail`` and the
request id, so a support agent can find the log lines of a failed call.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from app.api.routing import leaf_routes
from app.core import errors
from app.core.config import get_settings
from app.core.request_context import current_request_id
from app.db.errors import is_database_unavailable, is_unstorable_text

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document, with this service's stable ``code``."""

    type: str = Field(examples=["urn:contact-desk:problem:not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable, machine-readable error code.")
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldIssue] | None = Field(
        default=None, description="Each invalid field, for validation problems."
    )


# Domain error class → HTTP status. Subclasses inherit their parent's status.
_STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.StaleVersion: 412,
    errors.PreconditionRequired: 428,
    errors.InvalidInput: 422,
    errors.TemporarilyUnavailable: 503,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def status_for(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS_BY_ERROR:
            return _STATUS_BY_ERROR[cls]
    return 400


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:contact-desk:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path if request is not None else None,
        "request_id": current_request_id(),
    }
    body.update(jsonable_encoder(extra))
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def database_unavailable_response(request: Request | None) -> JSONResponse:
    retry_after = get_settings().retry_after_seconds
    return problem_response(
        request,
        status=503,
        code="database_unavailable",
        title="The service is temporarily unavailable.",
        detail="The database cannot be reached right now. Retry the same request later.",
        headers={"Retry-After": str(retry_after)},
    )


def render_domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
    """The problem response for a domain error (also for routes that return rather than raise)."""
    return problem_response(
        request,
        status=status_for(exc),
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers or None,
        **exc.extra,
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    return render_domain_error(request, exc)


def _issue(error: dict[str, Any]) -> dict[str, Any]:
    return {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error["type"]}


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = [_issue(error) for error in exc.errors()]
    if any(issue["type"] == "json_invalid" for issue in issues):
        return problem_response(
            request,
            status=400,
            code="malformed_json",
            title="The request body is not valid JSON.",
            detail="The body could not be parsed as JSON; check quoting and brackets.",
            errors=[issue for issue in issues if issue["type"] == "json_invalid"],
        )
    fields = ", ".join(".".join(str(part) for part in issue["loc"]) for issue in issues)
    return problem_response(
        request,
        status=422,
        code="validation_failed",
        title="Some fields are not valid.",
        detail=f"Invalid fields: {fields}.",
        errors=issues,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, f"http_{status}")
    detail = exc.detail if isinstance(exc.detail, str) else "The request cannot be served."
    if status == 404 and detail == "Not Found":
        detail = f"There is no resource at {request.url.path}."
    headers = dict(exc.headers) if exc.headers else None
    if status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        headers = {"Allow": ", ".join(allowed_methods(request))}
    return problem_response(
        request,
        status=status,
        code=code,
        title=detail if status >= 500 else _title_for(status),
        detail=detail,
        headers=headers,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    probe = {**request.scope, "method": "__none__"}
    for route in leaf_routes(request.app.router.routes):
        match, child = route.matches(probe)
        if match != Match.NONE and _takes_path_params(route, child.get("path_params", {})):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _takes_path_params(route: object, params: dict[str, Any]) -> bool:
    """Whether the route's declared path parameters accept these values. Starlette matches
    ``/v1/callbacks/claim-next`` against ``/v1/callbacks/{callback_id}`` too, but a UUID
    parameter refuses it, so that route's GET does not serve the path and is not in Allow."""
    dependant = getattr(route, "dependant", None)
    pending = [dependant] if dependant is not None else []
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for field in current.path_params:
            _, issues = field.validate(params.get(field.alias), {}, loc=("path", field.alias))
            if issues:
                return False
    return True


def _title_for(status: int) -> str:
    return {
        400: "Bad request.",
        401: "Authentication required.",
        403: "Not allowed.",
        404: "Not found.",
        405: "Method not allowed.",
        413: "The request body is too large.",
        415: "Unsupported media type.",
    }.get(status, "The request cannot be served.")


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Render an exception no handler took: 503 for an unreachable database, else 500."""
    if is_database_unavailable(exc):
        logger.warning("database unavailable", extra={"error": type(exc).__name__})
        return database_unavailable_response(request)
    if is_unstorable_text(exc):
        return problem_response(
            request,
            status=422,
            code="unstorable_text",
            title="Some text cannot be stored.",
            detail="Text fields must not contain NUL (\\u0000) characters.",
        )
    logger.exception("unexpected error", extra={"path": request.url.path})
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Something went wrong on our side.",
        detail="The error was logged. Quote the request_id when you report it.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected_error)


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring problem+json for the given statuses."""
    descriptions = {
        400: "Malformed request (e.g. invalid JSON)",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found (or outside your scope)",
        409: "Conflict with the current state",
        412: "Stale If-Match: the resource changed since you read it",
        413: "Body too large",
        422: "Validation failed",
        428: "If-Match required",
        429: "Too many requests",
        500: "Unexpected error (with a request id)",
        503: "Database or identity provider unavailable; retry after Retry-After seconds",
    }
    return {
        status: {
            "description": descriptions.get(status, "Problem"),
            "content": _problem_content(),
        }
        for status in statuses
    }


COMMON_PROBLEMS = problem_responses(400, 413, 422, 500, 503)
