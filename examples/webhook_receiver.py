"""A webhook receiver for authai_embed's events: check the signature, skip retries already
handled, then act on the event.

    AUTH_AI_WEBHOOK_SECRET=<the mount's webhook_secret> uvicorn webhook_receiver:app --port 9000

and give the mount `webhook_url="http://127.0.0.1:9000/authai-events"` with the same secret.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authai_embed import verify_webhook

Handle = Callable[[dict[str, Any]], Awaitable[None]]


def make_app(secret: str, handle: Handle, *, tolerance: float = 300) -> Starlette:
    """A Starlette app receiving the events at `POST /authai-events`."""
    seen: OrderedDict[str, None] = OrderedDict()  # delivery ids handled lately

    async def receive(request: Request) -> Response:
        body = await request.body()  # the raw bytes: what was signed
        signature = request.headers.get("x-authai-signature")
        if not verify_webhook(body, signature, secret, tolerance):
            return Response(status_code=400)  # forged, tampered with, or replayed late
        delivery = request.headers.get("x-authai-delivery", "")
        if delivery in seen:
            return Response(status_code=204)  # a retry of an event already handled
        await handle(json.loads(body))
        seen[delivery] = None
        if len(seen) > 10_000:
            seen.popitem(last=False)
        return Response(status_code=204)

    return Starlette(routes=[Route("/authai-events", receive, methods=["POST"])])


async def print_event(event: dict[str, Any]) -> None:
    """Replace with your own: email the user on `reauth_required`, page on a burst, ..."""
    print(event["type"], event["user_id"], event["provider"])


app = make_app(os.environ.get("AUTH_AI_WEBHOOK_SECRET", ""), print_event)
