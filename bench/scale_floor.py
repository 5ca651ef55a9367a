"""uvicorn alone holding paced streams: the floor under `--scale`'s memory per open stream.

`floor_app` answers every request with a `text/event-stream` of `AUTHAI_BENCH_FLOOR_EVENTS`
small stamped events, `AUTHAI_BENCH_FLOOR_RATE` a second, ending with `[DONE]`: what any ASGI
app holding a paced stream costs uvicorn (its connection, parser, request cycle and one task),
with nothing of ours in it.
"""

from __future__ import annotations

import asyncio
import os
import time

from authai_embed.types import Receive, Scope, Send

from .rig import not_found, tuned

__all__ = ["floor_app"]


def floor_app() -> object:
    """The paced ASGI app (a factory, for `uvicorn --factory`)."""
    rate = float(os.environ.get("AUTHAI_BENCH_FLOOR_RATE", "50"))
    events = int(os.environ.get("AUTHAI_BENCH_FLOOR_EVENTS", "250"))
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":  # lifespan, readiness probe
            await not_found(scope, receive, send)
            return
        while (await receive()).get("more_body", False):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(events):
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
            frame = b'data: {"delta":"T%.6f x"}\n\n' % time.time()
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})

    return tuned(app)
