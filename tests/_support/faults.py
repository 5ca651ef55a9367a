"""Fault-injection helpers: a real loopback server for an ASGI app, an httpx transport that sends
every request to it, a TCP proxy that can be cut and restored (a store that goes away and comes
back, without touching the shared PostgreSQL server), and a raw ASGI call whose client leaves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import uvicorn

from authai_embed.types import ASGIApp, Message


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[int]:
    """Serve `app` with uvicorn on a loopback socket; yield the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            try:
                await eventually(lambda: server.started)
                yield sock.getsockname()[1]
            finally:
                server.should_exit = True
    finally:
        sock.close()  # also when the block failed: a leaked socket is a ResourceWarning


class ToPort(httpx.AsyncBaseTransport):
    """A real network transport that sends every request to `127.0.0.1:port` (the URL's host
    is kept in the `Host` header), so configured upstream URLs can point at a test server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def busy_connections(self) -> int:
        """Pooled connections still carrying a request (a leak, once every call is over)."""
        pool = self.inner._pool
        return sum(1 for c in pool.connections if not (c.is_idle() or c.is_closed()))


class Raising(httpx.AsyncBaseTransport):
    """A transport whose every request fails with `error` (a connect timeout, say)."""

    def __init__(self, error: Callable[[httpx.Request], Exception]) -> None:
        self.error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.error(request)


class TcpProxy:
    """Forwards a loopback port to `target`; `cut()` closes the listener and every connection
    (the service "goes down"), `restore()` listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = closed_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


def http_scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """A plain ASGI HTTP scope for a raw call into an app."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5555),
        "server": ("app.test", 80),
    }


async def call_and_leave(
    app: ASGIApp,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    leave_when: Callable[[], bool],
    within: float = 10.0,
    stall_at_start: bool = False,
) -> list[Message]:
    """POST `body` to `app` as a raw ASGI call, disconnect once `leave_when()` is true, and
    return what the app sent; fails if the app is not done `within` seconds. `stall_at_start`:
    the client stops reading, so sending `http.response.start` never returns (and leaves once
    it is being sent, whatever `leave_when` says)."""
    gone = anyio.Event()
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if stall_at_start and message["type"] == "http.response.start":
            gone.set()
            await anyio.sleep_forever()

    scope = http_scope("POST", path, {"content-type": "application/json", **headers})

    async def call() -> None:
        await app(scope, receive, send)

    with anyio.fail_after(within):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await eventually(lambda: gone.is_set() or leave_when(), within)
            gone.set()
    return sent


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    """Wait until `check()` holds (a background close is not instantaneous); fail after
    `within` seconds."""
    for _ in range(int(within / 0.01) + 1):
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"still not true after {within} s")
