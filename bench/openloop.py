"""An open-loop load generator light enough to share two cores with the service it measures.

httpx spends about a millisecond of CPU per request; at 200 requests/s on a 2-core machine that
is CPU taken from the service under test, and the generator itself falls behind its schedule.
This one speaks just enough HTTP/1.1 (GET, or POST of a JSON body; keep-alive,
``Content-Length`` bodies) over a fixed set of connections, sends each request when it is due whatever the answers do, and measures
latency from when the request was due — so waiting for a free connection counts (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote, urlsplit


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body


Request = str | tuple[str, bytes]
"""A path to GET, or a path and the JSON body to POST to it."""


def _encoded(request: Request, host: str, extra: str) -> bytes:
    if isinstance(request, str):
        return f"GET {quote(request, safe='/')} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
    path, body = request
    head = (
        f"POST {quote(path, safe='/')} HTTP/1.1\r\nHost: {host}\r\n{extra}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def open_loop(
    base: str,
    headers: dict[str, str],
    paths: Iterator[Request],
    rate: float,
    seconds: float,
    connections: int = 64,
) -> tuple[list[float], Counter[str], list[int], float, bool]:
    """``(latencies ms, statuses, open items per answer, elapsed s, overloaded)``; stops early,
    reporting overload, once 1,000 requests are waiting for a connection. Open items are
    counted in the answers that have ``items`` (the caller lookup's)."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    free: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(_Connection(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    items: list[int] = []
    waiting = 0

    async def fire(path: Request, due: float) -> None:
        nonlocal waiting
        waiting += 1
        connection = await free.get()
        waiting -= 1
        try:
            status, body = await connection.get(_encoded(path, host, extra))
        except (OSError, asyncio.IncompleteReadError):
            statuses["transport error"] += 1
            connection = _Connection(*await asyncio.open_connection(host, port))
            free.put_nowait(connection)
            return
        free.put_nowait(connection)
        latencies.append((time.perf_counter() - due) * 1e3)
        statuses[str(status)] += 1
        if status == 200 and isinstance(path, str):
            items.append(len(json.loads(body)["items"]))

    tasks = []
    overloaded = False
    # The generator's own full garbage collections paused it for 50-108 ms (seen in a probe
    # after the 1M-ticket seed); latency counts from when a request was due, so those pauses were
    # charged to the service. A minute of requests makes little garbage, so collection waits for
    # the loop to end.
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if waiting > 1_000:
                overloaded = True
                break
            tasks.append(asyncio.create_task(fire(next(paths), due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    while not free.empty():
        free.get_nowait().writer.close()
    return latencies, statuses, items, elapsed, overloaded
