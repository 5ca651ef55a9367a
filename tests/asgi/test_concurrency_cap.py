"""The per-user concurrency cap on /v1: one user's burst is refused past the cap (429 with
`Retry-After: 1`, in each API's envelope) while everyone else's calls go through, and every
place is given back however a call ends: done, failed, streamed, or cut off by the client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from authai_embed import (
    AuthAI,
    Limits,
    MemoryStore,
    Secrets,
    StreamingASGITransport,
    mount_authai,
)
from authai_embed.testing import Emulator, ManualClock
from authai_embed.types import Message, Receive, Scope, Send
from tests._support.harness import GITHUB_UPSTREAM, UPSTREAM, XAI_UPSTREAM, Harness

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "gpt-5.4", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
NO_RATE_LIMITS = Limits(auth_start=None, auth_poll=None, v1=None)  # the cap alone


class HeldUpstream:
    """The emulator, with the model calls of the accounts in `held` parked until `release()`:
    a slow upstream for some users only, without a clock in the test."""

    def __init__(self, emulator: Emulator, held: set[str]) -> None:
        self.emulator = emulator
        self.held = held
        self.parked = 0
        self.changed = anyio.Event()
        self._open = anyio.Event()

    def release(self) -> None:
        self._open.set()

    async def wait_parked(self, count: int) -> None:
        while self.parked < count:
            await self.changed.wait()
            self.changed = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ()))
        account = headers.get(b"chatgpt-account-id", b"").decode()
        model_call = scope["type"] == "http" and scope["path"].endswith("/responses")
        if model_call and account in self.held:
            self.parked += 1
            self.changed.set()
            await self._open.wait()
        await self.emulator(scope, receive, send)


@pytest.fixture
async def make_app(
    emulator: Emulator, clock: ManualClock
) -> AsyncIterator[Callable[..., Awaitable[tuple[Harness, HeldUpstream]]]]:
    made: list[Harness] = []

    async def factory(held: set[str] | None = None, **options: Any) -> tuple[Harness, HeldUpstream]:
        upstream = HeldUpstream(emulator, held or set())
        app = FastAPI()
        authai = mount_authai(
            app,
            store=MemoryStore(),
            secrets=Secrets.generate(),
            http_client=httpx.AsyncClient(transport=StreamingASGITransport(upstream)),
            clock=clock,
            openai=UPSTREAM,
            github=GITHUB_UPSTREAM,
            xai=XAI_UPSTREAM,
            limits=NO_RATE_LIMITS,
            **options,
        )
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://app.test")
        harness = Harness(app, authai, client, emulator, clock, authai.store, authai.secrets)
        made.append(harness)
        return harness, upstream

    yield factory
    for harness in made:
        await harness.aclose()


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def sign_in_as(harness: Harness, account: str) -> str:
    harness.emulator.add_account(account, email=f"{account}@example.com")
    return await harness.sign_in(account=account)


async def test_a_heavy_user_is_capped_while_twenty_others_all_get_through(
    make_app: Callable[..., Awaitable[tuple[Harness, HeldUpstream]]],
) -> None:
    harness, upstream = await make_app(held={"heavy"})
    cap = harness.authai.settings.max_concurrent_per_user
    assert cap == 16  # the default
    heavy = await sign_in_as(harness, "heavy")
    others = [await sign_in_as(harness, f"user-{n}") for n in range(20)]
    post = harness.client.post
    heavy_answers: list[httpx.Response] = []
    finished: list[str] = []  # who finished, in order
    refused_all = anyio.Event()

    async def heavy_call() -> None:
        answer = await post("/authai/v1/chat/completions", headers=bearer(heavy), json=CHAT)
        heavy_answers.append(answer)
        finished.append("heavy")
        if sum(a.status_code == 429 for a in heavy_answers) == 200 - 16:
            refused_all.set()

    other_answers: list[httpx.Response] = []

    async def other_call(jwt: str, stream: bool) -> None:
        body = {**CHAT, "stream": stream}
        answer = await post("/authai/v1/chat/completions", headers=bearer(jwt), json=body)
        other_answers.append(answer)
        finished.append("other")

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(heavy_call)
        await upstream.wait_parked(16)  # the heavy user's first 16 are at the slow upstream
        await refused_all.wait()  # and the other 184 were refused at once, not queued
        assert harness.authai._cap.in_flight() == 16
        async with anyio.create_task_group() as others_group:
            for n, jwt in enumerate(others):
                for call in range(3):
                    others_group.start_soon(other_call, jwt, (n + call) % 2 == 0)
        # Every other user got all their answers while the heavy user's 16 still wait.
        assert [a.status_code for a in other_answers] == [200] * 60
        assert upstream.parked == 16
        assert finished.count("heavy") == 184
        upstream.release()
    assert finished[-16:] == ["heavy"] * 16  # the heavy user's accepted calls ended last
    statuses = [a.status_code for a in heavy_answers]
    assert statuses.count(200) == 16
    assert statuses.count(429) == 184
    refused = next(a for a in heavy_answers if a.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_exceeded"
    assert "at most 16" in error["message"]
    assert "max_concurrent_per_user" in error["message"]
    assert harness.emulator.codex.stats.requests >= 16 + 60  # refused calls never went upstream
    assert harness.authai._cap.in_flight() == 0


async def test_the_cap_counts_a_user_across_their_sessions_and_answers_anthropic_in_its_shape(
    make_app: Callable[..., Awaitable[tuple[Harness, HeldUpstream]]],
) -> None:
    harness, upstream = await make_app(held={"alice"}, max_concurrent_per_user=2)
    laptop, phone = await sign_in_as(harness, "alice"), await harness.sign_in(account="alice")
    assert laptop != phone
    post = harness.client.post
    answers: list[int] = []

    async def call(jwt: str) -> None:
        answer = await post("/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT)
        answers.append(answer.status_code)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, laptop)
        tg.start_soon(call, phone)
        await upstream.wait_parked(2)
        refused = await post("/authai/v1/messages", headers={"x-api-key": phone}, json=MESSAGES)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        body = refused.json()
        assert body["type"] == "error"
        assert body["error"]["type"] == "rate_limit_error"
        assert "at most 2" in body["error"]["message"]
        also = await post("/authai/v1/chat/completions", headers=bearer(laptop), json=CHAT)
        assert also.status_code == 429
        upstream.release()
    assert answers == [200, 200]
    after = await post("/authai/v1/chat/completions", headers=bearer(phone), json=CHAT)
    assert after.status_code == 200  # the places were given back


@pytest.mark.parametrize("off", [0, None])
async def test_the_cap_can_be_switched_off(
    make_app: Callable[..., Awaitable[tuple[Harness, HeldUpstream]]], off: int | None
) -> None:
    harness, upstream = await make_app(held={"alice"}, max_concurrent_per_user=off)
    jwt = await sign_in_as(harness, "alice")
    answers: list[int] = []

    async def call() -> None:
        answer = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
        )
        answers.append(answer.status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(call)
        await upstream.wait_parked(40)  # all 40 reached the upstream at once
        upstream.release()
    assert answers == [200] * 40
    assert harness.authai._cap.in_flight() == 0


# -- no place is ever leaked -------------------------------------------------------------------


async def drive(app: AuthAI, jwt: str, body: dict[str, Any], leave: str | None) -> int | None:
    """One call on the raw ASGI interface. `leave`: "early" disconnects as soon as the body is
    sent (mid upstream call), "mid-stream" after the first body chunk; None reads it all.
    Returns the status sent, or None when none was."""
    raw = json.dumps(body).encode()
    sent: list[Message] = []
    first_chunk = anyio.Event()
    body_given = False
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"app.test"),
            (b"authorization", f"Bearer {jwt}".encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("app.test", 80),
    }

    async def receive() -> Message:
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": raw, "more_body": False}
        if leave == "mid-stream":
            await first_chunk.wait()
        elif leave is None:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    await app(scope, receive, send)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    return None if start is None else int(start["status"])


async def test_a_thousand_mixed_calls_leave_no_place_held(
    make_app: Callable[..., Awaitable[tuple[Harness, HeldUpstream]]],
) -> None:
    harness, _ = await make_app(max_concurrent_per_user=4)
    users = [await sign_in_as(harness, f"mixed-{n}") for n in range(3)]
    kinds: list[tuple[dict[str, Any], str | None]] = [
        ({**CHAT, "stream": True}, None),  # streamed to the end
        (CHAT, None),  # folded, one answer
        ({**CHAT, "stream": True}, "mid-stream"),  # the client leaves during the stream
        ({**CHAT, "stream": True}, "early"),  # the client leaves before any byte
        ({"model": "gpt-5.4", "messages": "not a list"}, None),  # refused: a 400
    ]
    statuses: list[int | None] = []

    async def one(n: int) -> None:
        body, leave = kinds[n % len(kinds)]
        statuses.append(await drive(harness.authai, users[n % len(users)], body, leave))

    for batch in range(0, 1000, 50):
        async with anyio.create_task_group() as tg:
            for n in range(batch, batch + 50):
                tg.start_soon(one, n)
    assert len(statuses) == 1000
    assert {200, 400, 429} <= set(statuses)  # done, failed and refused calls all happened
    assert None in statuses  # and some clients left before an answer
    assert harness.authai._cap.in_flight() == 0
    assert harness.authai._cap._active == {}
