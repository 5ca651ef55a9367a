"""Serve an ASGI app with uvicorn on a loopback port, inside the test's own event loop."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import uvicorn

from authai_embed.types import ASGIApp


def listening_socket() -> socket.socket:
    """A loopback socket already listening, so clients can connect before uvicorn accepts."""
    sock = socket.socket()
    # Accepted connections inherit this: uvicorn sets it only on sockets it creates itself, and
    # without it small responses wait for the client's delayed ACK (about 40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    return sock


@asynccontextmanager
async def served(
    app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "off"
) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port until the block ends; yield its base URL."""
    sock = listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            try:
                yield f"http://127.0.0.1:{sock.getsockname()[1]}"
            finally:
                server.should_exit = True
    finally:
        sock.close()
