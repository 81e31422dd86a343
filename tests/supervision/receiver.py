"""A webhook receiver on a real loopback port: an ASGI app served by uvicorn in this process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from app.webhooks import signing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LoopbackReceiver:
    """Answers 204 to a delivery whose signature checks out under ``secret`` (401 otherwise)
    and keeps the bodies it accepted."""

    secret: str = ""
    port: int = field(default_factory=free_port)
    bodies: list[bytes] = field(default_factory=list)
    rejected: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        stamp = headers.get(signing.TIMESTAMP_HEADER.lower(), "")
        valid = signing.verify(
            self.secret,
            timestamp=stamp,
            body=body,
            signature_header=headers.get(signing.SIGNATURE_HEADER.lower(), ""),
            now=float(stamp) if stamp.isdigit() else 0.0,
        )
        if valid:
            self.bodies.append(body)
            self.arrived.set()
        else:
            self.rejected += 1
        await send({"type": "http.response.start", "status": 204 if valid else 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def serving(receiver: LoopbackReceiver) -> AsyncIterator[LoopbackReceiver]:
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=receiver.port, log_config=None, access_log=False,
        lifespan="off",
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
