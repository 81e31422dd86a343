"""Pure ASGI middleware: request id, access log and metrics, body size limit.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so streaming bodies are not buffered and
context variables set here are visible to the handlers.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import unexpected_error
from app.core.request_context import request_id_var

logger = logging.getLogger("app.access")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

HTTP_REQUESTS = Counter(
    "contact_desk_http_requests_total",
    "HTTP requests served, by route template, method and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "contact_desk_http_request_duration_seconds",
    "Time from receiving a request to sending its last byte, by route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths are one label, so random URLs cannot blow up the metric's cardinality.
    return path if isinstance(path, str) else "<unmatched>"


class RequestContextMiddleware:
    """Accept or generate ``X-Request-ID``, echo it, log one line and record metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500, "started": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["started"] = 1
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Rendered here, inside the request context, so a 500 or 503 still carries the
            # request id (Starlette's own error middleware sits outside this one).
            if status_holder["started"]:
                raise
            response = await unexpected_error(Request(scope, receive), exc)
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            status = status_holder["status"]
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    # The template, not the raw path: raw paths may carry phone numbers.
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if _VALID_REQUEST_ID.match(candidate):
                    return candidate
                break
        return uuid.uuid4().hex


class BodySizeLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, send)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        from app.core.request_context import current_request_id

        body = json.dumps(
            {
                "type": "urn:contact-desk:problem:body_too_large",
                "title": "The request body is too large.",
                "status": 413,
                "detail": f"The body exceeds the limit of {self.max_bytes} bytes.",
                "code": "body_too_large",
                "instance": scope.get("path"),
                "request_id": current_request_id(),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
