"""A streaming in-process httpx transport for ASGI apps.

`httpx.ASGITransport` runs the app to completion and buffers the whole body before it returns,
so a streamed completion would reach the caller all at once. This transport returns the response
as soon as the app sends its headers and hands the body over as it is sent (what the app sent
while the reader was busy comes as one piece), with a small bounded queue for backpressure.
Closing the response early tells the app the client went away (`http.disconnect`) and cancels
it, so an upstream request behind it is closed at once.

It runs the app in an asyncio task, so it needs an asyncio event loop (the `openai` SDK's default).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from authai_embed._util.loop import running_loop
from authai_embed.types import ASGIApp, Message

__all__ = ["StreamingASGITransport", "ThreadedASGITransport"]

_END = object()


class _ResponseStream(httpx.AsyncByteStream):
    """The body of one response, read from the app's `send` calls."""

    def __init__(
        self, queue: asyncio.Queue[Any], task: asyncio.Task[None], disconnected: asyncio.Event
    ) -> None:
        self._queue = queue
        self._task = task
        self._disconnected = disconnected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        queue = self._queue
        while True:
            item = await queue.get()
            # What the app has sent meanwhile goes with it: one piece for the reader to handle,
            # however many sends made it. Nothing waits for more.
            parts: list[bytes] = []
            while isinstance(item, bytes):
                parts.append(item)
                item = None if queue.empty() else queue.get_nowait()
            if parts:
                yield parts[0] if len(parts) == 1 else b"".join(parts)
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item

    async def aclose(self) -> None:
        self._disconnected.set()
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Send httpx requests straight into an ASGI app, streaming the response body.

    `root_path` is passed in the scope, as `httpx.ASGITransport` does: for an app that lives under
    a prefix which the request URLs include (`/emulator/...` with `root_path="/emulator"`).
    `max_chunks` bounds how
    many body chunks may wait for the reader before the app's `send` blocks.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 0),
        max_chunks: int = 32,
    ) -> None:
        self.app = app
        self.root_path = root_path
        self.client = client
        self.max_chunks = max_chunks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": self.root_path,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": self.client,
            "state": {},
        }
        body = request.stream
        assert isinstance(body, httpx.AsyncByteStream)
        chunks = body.__aiter__()
        queue: asyncio.Queue[Any] = asyncio.Queue(self.max_chunks)
        started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        disconnected = asyncio.Event()
        request_done = False
        response_done = False

        async def receive() -> Message:
            nonlocal request_done
            if not request_done:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    request_done = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                return {"type": "http.request", "body": chunk, "more_body": True}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal response_done
            if message["type"] == "http.response.start":
                if not started.done():
                    started.set_result(message)
            elif message["type"] == "http.response.body" and not response_done:
                data = message.get("body", b"")
                if data:
                    await queue.put(bytes(data))
                if not message.get("more_body", False):
                    response_done = True
                    await queue.put(_END)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                elif not response_done:
                    await queue.put(exc)
                return
            if not started.done():
                started.set_exception(RuntimeError("the ASGI app returned without a response"))
            elif not response_done:
                await queue.put(_END)

        task = asyncio.create_task(run())
        try:
            start = await started
        except BaseException:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
        return httpx.Response(
            status_code=start["status"],
            headers=start.get("headers", []),
            stream=_ResponseStream(queue, task, disconnected),
            extensions={"http_version": b"HTTP/1.1"},
        )


class _ThreadedStream(httpx.SyncByteStream):
    """A streamed body read, chunk by chunk, from an event loop running in another thread."""

    def __init__(self, response: httpx.Response, loop: asyncio.AbstractEventLoop) -> None:
        self._response = response
        self._loop = loop
        self._chunks = response.aiter_raw()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            future = asyncio.run_coroutine_threadsafe(_next_chunk(self._chunks), self._loop)
            chunk = future.result()
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._response.aclose(), self._loop).result()


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


class ThreadedASGITransport(httpx.BaseTransport):
    """A sync httpx transport for code running in a worker thread while the ASGI app lives on an
    event loop in another thread (a sync view in an async server). Each call is handed to that
    loop; the body streams back chunk by chunk. Calling it from the loop's own thread would
    deadlock, so that raises `RuntimeError` instead."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        self._inner = StreamingASGITransport(app, **options)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if running_loop() is self._loop:
            raise RuntimeError("the sync client cannot run on the app's event loop thread")
        body = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )
        future = asyncio.run_coroutine_threadsafe(
            self._inner.handle_async_request(forwarded), self._loop
        )
        response = future.result()
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ThreadedStream(response, self._loop),
            extensions=response.extensions,
        )
