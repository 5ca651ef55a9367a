"""A bare relay on uvicorn: the floor under the served rate (`python -m bench`, section 3).

`relay_app` forwards every POST, body and headers as they came (but `host` and the hop-by-hop
ones), to `AUTHAI_BENCH_RELAY_TARGET` through the upstream client authai_embed itself uses, and
streams the answer back byte for byte: the work any Python proxy on one uvicorn worker does for
a request (accept it, make it upstream, relay the stream) with nothing of ours in it: no
session, no vault, no translation.
"""

from __future__ import annotations

import os

import httpx

from authai_embed import new_upstream_client
from authai_embed.types import Receive, Scope, Send

from .rig import not_found, tuned

__all__ = ["relay_app"]

_DROPPED = frozenset({b"host", b"content-length", b"connection", b"transfer-encoding"})


def relay_app() -> object:
    """The relay (a factory, for `uvicorn --factory`)."""
    target = os.environ["AUTHAI_BENCH_RELAY_TARGET"]
    client = new_upstream_client(httpx.Timeout(60.0, connect=10.0))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":  # lifespan, readiness probe
            await not_found(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = [(k, v) for k, v in scope["headers"] if k not in _DROPPED]
        request = client.build_request("POST", target, headers=headers, content=body)
        upstream = await client.send(request, stream=True)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": upstream.status_code,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await upstream.aclose()

    return tuned(app)
