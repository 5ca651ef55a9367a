"""While a streamed answer is being sent, the mount keeps no session, no decoded request headers
or body, no upstream request headers and no upstream answer headers: the session holds the
user's opened tokens and record, the request's headers the session token, the upstream request's
the access token, and a stream may stay open for minutes (thousands at once)."""

from __future__ import annotations

import gc

import httpx
import pytest

from authai_embed import StreamingASGITransport
from authai_embed.asgi.http import Request
from authai_embed.auth.sessions import Session
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio


def _sessions_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Session)


def _held_mid_stream() -> list[str]:
    """What of the proxied call is still held: decoded headers or a body on the mount's request
    (not the emulator's), the access token or the body on the upstream request, the upstream
    answer's headers."""
    gc.collect()
    held = []
    for o in gc.get_objects():
        if type(o) is Request and o.path.startswith("/v1/"):
            if o._headers is not None or o._body is not None:
                held.append(f"the request's headers or body ({o.path})")
        elif (
            type(o) is httpx.Request
            and o.url.path == "/backend-api/codex/responses"
            and ("authorization" in o.headers or o.content)
        ):
            held.append("the upstream request's headers or body")
        elif (
            type(o) is httpx.Response
            and o._request is not None
            and o._request.url.path == "/backend-api/codex/responses"
            and o.headers
        ):
            held.append("the upstream answer's headers")
    return held


async def test_no_session_is_alive_while_an_answer_streams(harness: Harness) -> None:
    jwt = await harness.sign_in()
    knobs = harness.emulator.codex.knobs
    knobs.chunk_size, knobs.event_delay = 2, 0.02
    harness.emulator.codex.script("abcdefghijklmnopqrstuvwxyz")
    body = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "go"}], "stream": True}
    async with (
        httpx.AsyncClient(
            transport=StreamingASGITransport(harness.app), base_url="http://app.test"
        ) as client,
        client.stream(
            "POST",
            "/authai/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {jwt}"},
        ) as response,
    ):
        assert response.status_code == 200
        chunks = response.aiter_bytes()
        first = await anext(chunks)
        assert b"chat.completion.chunk" in first
        assert _sessions_alive() == 0  # mid-stream: events are still to come
        assert _held_mid_stream() == []
        rest = b"".join([chunk async for chunk in chunks])
    assert rest.endswith(b"data: [DONE]\n\n")
