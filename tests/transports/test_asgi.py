"""The streaming in-process transport: chunks arrive as sent; closing early cancels the app."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from authai_embed import StreamingASGITransport
from authai_embed.types import Receive, Scope, Send

pytestmark = pytest.mark.anyio


class SlowStream:
    """An ASGI app that sends one chunk, then waits for the test's permission to go on."""

    def __init__(self) -> None:
        self.go_on = asyncio.Event()
        self.cancelled = False
        self.finished = asyncio.Event()
        self.request_body = b""
        self.scope: Scope = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        while True:
            message = await receive()
            self.request_body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            await send({"type": "http.response.body", "body": b"first", "more_body": True})
            await self.go_on.wait()
            await send({"type": "http.response.body", "body": b"second", "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            self.finished.set()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_first_chunk_arrives_before_the_app_finishes() -> None:
    app = SlowStream()
    client = httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://in.process")
    async with client.stream("POST", "/x?y=1", content=b"hello") as response:
        chunks = response.aiter_bytes()
        assert await chunks.__anext__() == b"first"
        assert not app.finished.is_set()
        app.go_on.set()
        assert [c async for c in chunks] == [b"second"]
    assert app.finished.is_set()
    assert app.request_body == b"hello"
    assert app.scope["path"] == "/x"
    assert app.scope["query_string"] == b"y=1"


async def test_closing_early_cancels_the_app() -> None:
    app = SlowStream()
    client = httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://in.process")
    async with client.stream("GET", "/") as response:
        assert await response.aiter_bytes().__anext__() == b"first"
    assert app.cancelled
    assert not app.finished.is_set()


async def test_root_path_is_passed_for_mounted_apps() -> None:
    app = SlowStream()
    app.go_on.set()
    transport = StreamingASGITransport(app, root_path="/authai")
    client = httpx.AsyncClient(transport=transport, base_url="http://in.process")
    response = await client.get("/authai/v1/models")
    assert response.content == b"firstsecond"
    assert app.scope["root_path"] == "/authai"
    assert app.scope["path"] == "/authai/v1/models"


async def test_an_app_that_fails_before_answering_raises_in_the_caller() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    client = httpx.AsyncClient(transport=StreamingASGITransport(broken), base_url="http://x")
    with pytest.raises(RuntimeError, match="boom"):
        await client.get("/")
