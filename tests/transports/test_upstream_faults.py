"""Upstream faults, each answered cleanly: the provider unreachable, slow, failing, cut off or
malformed; the client leaving mid-answer; the credential store unreachable.

A user signs in through the ordinary harness; a second `AuthAI` on the same store and secrets,
with a faulty upstream client, then serves their `/v1` calls.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from authai_embed import AuthAI, PostgresStore, SQLiteStore, StreamingASGITransport
from authai_embed.testing import TOKEN_MARKER, CodexReply
from tests._support.faults import (
    Raising,
    TcpProxy,
    ToPort,
    call_and_leave,
    closed_port,
    eventually,
    served,
)
from tests._support.harness import UPSTREAM, Harness, HarnessFactory
from tests._support.services import require_postgres

pytestmark = [
    pytest.mark.anyio,
    # Upstream faults do not depend on the store: one (the fast one) is enough.
    pytest.mark.parametrize("store", ["memory"], indirect=True),
]

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES = {
    "model": "gpt-5.4",
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "yo"}]}],
}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def sse_data(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def second_app(harness: Harness, upstream: httpx.AsyncClient) -> AuthAI:
    """An `AuthAI` on the harness's store and secrets whose upstream calls go via `upstream`."""
    return AuthAI(
        secrets=harness.secrets,
        store=harness.store,
        http_client=upstream,
        clock=harness.clock,
        openai=UPSTREAM,
    )


@pytest.fixture
async def faulty(harness: Harness) -> AsyncIterator[Callable[..., Any]]:
    """`await faulty(transport, limits)`: an httpx client on `second_app`, whose upstream
    calls go through `transport`."""
    async with AsyncExitStack() as stack:

        async def make(
            transport: httpx.AsyncBaseTransport, limits: httpx.Timeout | None = None
        ) -> httpx.AsyncClient:
            upstream = httpx.AsyncClient(transport=transport, timeout=limits or httpx.Timeout(5.0))
            stack.push_async_callback(upstream.aclose)
            app_transport = httpx.ASGITransport(app=second_app(harness, upstream))
            client = httpx.AsyncClient(transport=app_transport, base_url="http://app.test")
            stack.push_async_callback(client.aclose)
            return client

        yield make


# -- the provider cannot be reached ---------------------------------------------------------


async def test_connect_refused_is_a_502_openai_error(harness: Harness, faulty: Any) -> None:
    jwt = await harness.sign_in()
    client = await faulty(ToPort(closed_port()))
    for stream in (False, True):
        response = await client.post(
            "/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": stream}
        )
        assert response.status_code == 502
        error = response.json()["error"]
        assert error["type"] == "provider_error"
        assert error["message"] == "the provider could not be reached"


async def test_connect_timeout_is_a_504_openai_error(harness: Harness, faulty: Any) -> None:
    jwt = await harness.sign_in()
    client = await faulty(Raising(lambda r: httpx.ConnectTimeout("timed out", request=r)))
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/responses", RESPONSES)):
        response = await client.post(path, headers=bearer(jwt), json=body)
        assert response.status_code == 504
        assert response.json()["error"]["message"] == "the provider did not answer in time"


async def test_read_timeout_before_any_byte_is_a_504(harness: Harness, faulty: Any) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.response_delay = 5.0
    async with served(harness.emulator) as port:
        client = await faulty(ToPort(port), httpx.Timeout(5.0, read=0.3))
        response = await client.post("/v1/chat/completions", headers=bearer(jwt), json=CHAT)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "provider_error"


async def test_read_timeout_mid_stream_is_an_error_not_a_truncation(
    harness: Harness, faulty: Any
) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.first_byte_delay = 5.0
    async with served(harness.emulator) as port:
        transport = ToPort(port)
        client = await faulty(transport, httpx.Timeout(5.0, read=0.3))
        whole = await client.post("/v1/chat/completions", headers=bearer(jwt), json=CHAT)
        streamed = await client.post(
            "/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": True}
        )
        assert whole.status_code == 504
        assert whole.json()["error"]["message"] == "the provider stopped answering in time"
        data = sse_data(streamed.text)
        assert data[-1] == "[DONE]"
        assert json.loads(data[-2])["error"]["type"] == "provider_error"
        # Both upstream requests were abandoned by us, and no pooled connection stays busy.
        await eventually(lambda: harness.emulator.codex.stats.cancelled_streams == 2)
        assert transport.busy_connections() == 0


# -- the provider answers badly -------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_upstream_5xx_is_a_502_provider_error(harness: Harness, status: int) -> None:
    jwt = await harness.sign_in()
    for path, body in (
        ("/authai/v1/chat/completions", CHAT),
        ("/authai/v1/chat/completions", {**CHAT, "stream": True}),
        ("/authai/v1/responses", {**RESPONSES, "stream": True}),
    ):
        harness.emulator.codex.script(CodexReply.http_error(status))
        response = await harness.client.post(path, headers=bearer(jwt), json=body)
        assert response.status_code == 502, (path, response.text)
        error = response.json()["error"]
        assert error["type"] == "provider_error"
        assert error["message"] == f"the provider failed (status {status})"


async def test_usage_limit_429_on_every_route(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.usage_limit_reached = True
    for path, body in (
        ("/authai/v1/chat/completions", {**CHAT, "stream": True}),
        ("/authai/v1/responses", RESPONSES),
    ):
        response = await harness.client.post(path, headers=bearer(jwt), json=body)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        assert response.json()["error"]["code"] == "usage_limit_reached"


@pytest.mark.parametrize(
    "reply",
    [
        CodexReply(text="partial answer", finish="cut"),
        CodexReply(text="partial answer", finish="cut", cut_after=0),
        CodexReply(text="partial answer", malformed=True),
    ],
    ids=["cut-after-first-delta", "cut-before-any-event", "malformed-frame"],
)
async def test_broken_streams_end_in_an_openai_error_on_every_route(
    harness: Harness, reply: CodexReply
) -> None:
    jwt = await harness.sign_in()
    post = harness.client.post
    harness.emulator.codex.script(reply, reply, reply, reply)
    whole_chat = await post("/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT)
    assert whole_chat.status_code == 502
    assert whole_chat.json()["error"]["type"] == "provider_error"
    streamed_chat = await post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": True}
    )
    data = sse_data(streamed_chat.text)
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2])["error"]["type"] == "provider_error"
    whole_responses = await post("/authai/v1/responses", headers=bearer(jwt), json=RESPONSES)
    assert whole_responses.status_code == 502
    assert whole_responses.json()["error"]["type"] == "provider_error"
    streamed = await post(
        "/authai/v1/responses", headers=bearer(jwt), json={**RESPONSES, "stream": True}
    )
    assert streamed.status_code == 200
    last = streamed.text.strip().split("\n\n")[-1]
    assert last.startswith("event: error\n"), last
    error = json.loads(last.split("data: ", 1)[1])
    assert error["type"] == "error"
    assert error["code"] in ("stream_incomplete", "malformed_stream")
    assert "partial" not in last


class Recording(httpx.AsyncBaseTransport):
    """The emulator, reached in-process; keeps the bytes of every answer as they stream by."""

    def __init__(self, harness: Harness) -> None:
        self._inner = StreamingASGITransport(harness.emulator)
        self.bodies: list[bytearray] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = bytearray()
        self.bodies.append(body)

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in response.aiter_raw():
                body.extend(chunk)
                yield chunk

        return httpx.Response(
            response.status_code, headers=response.headers, stream=_Stream(chunks(), response)
        )


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes], response: httpx.Response) -> None:
        self._chunks, self._response = chunks, response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


def sse_events(text: str) -> list[tuple[str, Any]]:
    """Each event of an SSE stream: its name and its data, parsed."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


async def test_a_healthy_responses_stream_passes_through_event_for_event(
    harness: Harness, faulty: Any
) -> None:
    jwt = await harness.sign_in()
    upstream = Recording(harness)
    client = await faulty(upstream)
    streamed = await client.post(
        "/v1/responses", headers=bearer(jwt), json={**RESPONSES, "stream": True}
    )
    sent = sse_events(upstream.bodies[-1].decode())
    received = sse_events(streamed.text)
    assert len(sent) > 3
    # Every event whole, its name and all of its data, except what the mount fills in on
    # purpose (docs: a `response` object's fields the upstream left missing or empty).
    assert [_unfilled(r, s) for r, s in zip(received, sent, strict=True)] == sent
    assert received[-1][0] == "response.completed"
    assert received[-1][1]["response"]["output"] != []


def _unfilled(received: tuple[str, Any], sent: tuple[str, Any]) -> tuple[str, Any]:
    """`received` with the fields the filler added (absent or empty in `sent`) put back."""
    name, data = received
    ours, theirs = data.get("response"), sent[1].get("response")
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return received
    kept = {k: ours.get(k, "<dropped>") for k, v in theirs.items() if v not in (None, [], {})}
    return name, {**data, "response": {**theirs, **kept}}


# -- the client leaves -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {**CHAT, "stream": True}),
        ("/v1/chat/completions", CHAT),
        ("/v1/responses", {**RESPONSES, "stream": True}),
        ("/v1/responses", RESPONSES),
    ],
    ids=["chat-streamed", "chat-whole", "responses-streamed", "responses-whole"],
)
async def test_a_client_leaving_cancels_the_upstream_request_and_leaks_nothing(
    harness: Harness, path: str, body: dict[str, Any]
) -> None:
    jwt = await harness.sign_in()
    stats = harness.emulator.codex.stats
    harness.emulator.codex.knobs.event_delay = 0.05
    harness.emulator.codex.script(CodexReply(text="word " * 400))
    await asyncio.sleep(0)
    tasks_before = set(asyncio.all_tasks())
    sent = await call_and_leave(
        harness.authai, path, body, bearer(jwt), leave_when=lambda: len(stats.events) >= 5
    )
    assert stats.cancelled_streams == 1
    assert stats.completed_streams == 0
    assert stats.open_streams == 0
    await eventually(lambda: set(asyncio.all_tasks()) <= tasks_before)
    if body.get("stream"):
        assert sent[0]["status"] == 200
    else:
        assert sent == []  # nobody to answer: nothing is sent


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {**CHAT, "stream": True}),
        ("/v1/responses", {**RESPONSES, "stream": True}),
    ],
    ids=["chat", "responses"],
)
async def test_a_client_leaving_while_the_answer_starts_closes_the_upstream(
    harness: Harness, path: str, body: dict[str, Any]
) -> None:
    # The server is stuck sending `http.response.start` when the client goes: the relaying
    # generator never started, so its own cleanup cannot be what closes the upstream call.
    jwt = await harness.sign_in()
    stats = harness.emulator.codex.stats
    harness.emulator.codex.knobs.event_delay = 0.05
    harness.emulator.codex.script(CodexReply(text="word " * 400))
    await call_and_leave(
        harness.authai, path, body, bearer(jwt), leave_when=lambda: False, stall_at_start=True
    )
    # Closed by the time the app returns: not left to the garbage collector's finalizers.
    assert stats.open_streams == 0
    assert stats.cancelled_streams == 1
    assert stats.completed_streams == 0


async def test_a_client_leaving_while_a_passed_through_answer_starts_closes_the_upstream(
    harness: Harness,
) -> None:
    # Copilot's chat completions are relayed as they come, with no opening held back (which
    # would read, and on a failure close, the upstream call itself): only the response's own
    # `closing` can close the call when the relaying generator never starts.
    jwt = await harness.sign_in(provider="github")
    model = harness.emulator.github.model
    model.knobs.event_delay = 0.05
    model.script(CodexReply(text="word " * 400))
    body = {"model": "claude-sonnet-4.5", "messages": CHAT["messages"], "stream": True}
    sent = await call_and_leave(
        harness.authai,
        "/v1/chat/completions",
        body,
        bearer(jwt),
        leave_when=lambda: False,
        stall_at_start=True,
    )
    assert sent[0]["status"] == 200  # the answer had started: the upstream call was open
    assert model.stats.streams == 1
    assert model.stats.open_streams == 0
    assert model.stats.cancelled_streams == 1
    assert model.stats.completed_streams == 0


async def test_a_client_leaving_over_real_sockets_frees_the_upstream_connection(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    stats = harness.emulator.codex.stats
    harness.emulator.codex.knobs.event_delay = 0.05
    harness.emulator.codex.script(CodexReply(text="word " * 400))
    transport = ToPort(0)
    async with (
        httpx.AsyncClient(transport=transport) as upstream,
        served(harness.emulator) as upstream_port,
        served(second_app(harness, upstream)) as app_port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{app_port}") as client,
    ):
        transport.port = upstream_port
        async with client.stream(
            "POST", "/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": True}
        ) as response:
            async for _ in response.aiter_lines():
                if len(stats.events) >= 5:
                    break
        await eventually(lambda: stats.cancelled_streams == 1)
        await eventually(lambda: transport.busy_connections() == 0)
        # The pool still works afterwards.
        again = await client.post("/v1/chat/completions", headers=bearer(jwt), json=CHAT)
        assert again.status_code == 200
        assert stats.open_streams == 0


# -- the store is unreachable ------------------------------------------------------------------


async def test_postgres_unreachable_is_a_503_and_recovers_by_itself(
    make_harness: HarnessFactory,
) -> None:
    dsn = require_postgres()
    parts = urlsplit(dsn)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxied = dsn.replace(parts.netloc, f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}")
    schema = f"authai_fault_{proxy.port}"
    store = PostgresStore(proxied, schema=schema, connect_timeout=1.0, command_timeout=2.0)
    harness = await make_harness(store=store)
    try:
        # Down from the start: the app cannot open its store.
        down = await harness.client.get("/authai/auth/whoami", headers=bearer("x.y.z"))
        assert down.status_code == 503
        assert down.json() == {"error": "the credential store is unavailable; try again shortly"}
        assert down.headers["retry-after"] == "1"
        await proxy.restore()
        jwt = await harness.sign_in()
        # Down again mid-life: every store-backed route is a clear 503, in either shape.
        await proxy.cut()
        for path, method, shape in (
            ("/authai/auth/whoami", "GET", "auth"),
            ("/authai/auth/start", "POST", "auth"),
            ("/authai/v1/chat/completions", "POST", "v1"),
        ):
            answer = await harness.client.request(method, path, headers=bearer(jwt), json=CHAT)
            assert answer.status_code == 503, (path, answer.text)
            if shape == "v1":
                assert answer.json()["error"]["type"] == "service_unavailable"
            else:
                assert "unavailable" in answer.json()["error"]
        # Back: the same session works, nothing was lost.
        await proxy.restore()
        whoami = await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
        assert whoami.status_code == 200
        chat = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
        )
        assert chat.status_code == 200
    finally:
        await harness.authai.shutdown()
        await proxy.cut()
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def test_sqlite_locked_is_a_503_and_recovers_by_itself(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    path = tmp_path / "locked.db"
    harness = await make_harness(store=SQLiteStore(path, busy_timeout=0.2))
    harness.emulator.add_account("acct-late", email="late@example.com")
    jwt = await harness.sign_in()
    pending = (await harness.client.post("/authai/auth/start", json={})).json()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        started = await harness.client.post("/authai/auth/start", json={})
        assert started.status_code == 503
        assert started.json() == {"error": "the credential store is unavailable; try again shortly"}
        harness.emulator.approve(pending["userCode"], account="acct-late")
        harness.clock.advance(pending["pollIntervalMs"] / 1000)
        polled = await harness.client.get(f"/authai/auth/poll/{pending['sessionId']}")
        assert polled.status_code == 503
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The lock is gone: the pending login completes, the earlier session still works.
    polled = await harness.client.get(f"/authai/auth/poll/{pending['sessionId']}")
    assert polled.json()["status"] == "complete"
    for token in (jwt, polled.json()["jwt"]):
        whoami = await harness.client.get("/authai/auth/whoami", headers=bearer(token))
        assert whoami.status_code == 200


# -- the provider echoes a token ---------------------------------------------------------------

ECHOED = f"rt_{TOKEN_MARKER}_" + "a" * 30


@pytest.mark.parametrize(
    ("reply", "path", "stream"),
    [
        (CodexReply.http_error(400, body={"error": {"message": f"bad {ECHOED}"}}), "chat", False),
        (CodexReply(finish="failed", error_message=f"bad {ECHOED}"), "chat", False),
        (CodexReply(finish="failed", error_message=f"bad {ECHOED}"), "chat", True),
        (CodexReply(finish="error", error_message=f"bad {ECHOED}"), "chat", True),
        (CodexReply(finish="failed", error_message=f"bad {ECHOED}"), "responses", False),
        (CodexReply(finish="failed", error_message=f"bad {ECHOED}"), "responses", True),
        (CodexReply(finish="error", error_message=f"bad {ECHOED}"), "responses", True),
    ],
    ids=[
        "http-400",
        "failed-whole",
        "failed-streamed",
        "error-event-streamed",
        "responses-whole",
        "responses-failed-streamed",
        "responses-error-event-streamed",
    ],
)
async def test_a_token_echoed_in_a_provider_error_is_redacted(
    harness: Harness, reply: CodexReply, path: str, stream: bool
) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(reply)
    body = CHAT if path == "chat" else RESPONSES
    url = "/authai/v1/chat/completions" if path == "chat" else "/authai/v1/responses"
    response = await harness.client.post(url, headers=bearer(jwt), json={**body, "stream": stream})
    assert "bad [redacted]" in response.text
    assert TOKEN_MARKER not in response.text  # the token guard checks this too
