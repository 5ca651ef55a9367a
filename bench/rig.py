"""The in-process rig: the emulator, an `AuthAI` mounted on a bare ASGI host that reaches it
in-process, a signed-in user, and one client for each side.

Both sides go through `StreamingASGITransport`, so the transport's own cost cancels out of the
difference: what remains is what authai_embed adds (JWT, store, decrypt, translation, SSE).
The direct side replays, byte for byte, the Responses request the proxy sent upstream (headers
and body as the emulator recorded them, plus the user's access token).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from authai_embed import AuthAI, AuthStore, Limits, MemoryStore, Rate, Secrets, mount_authai
from authai_embed._transports.asgi import StreamingASGITransport
from authai_embed._transports.upstream_client import new_upstream_client
from authai_embed._util.clock import Clock
from authai_embed.server.gc_tuning import tune_gc
from authai_embed.testing import Emulator
from authai_embed.types import Receive, Scope, Send

__all__ = [
    "BENCH_LIMITS",
    "ISSUER",
    "MODEL",
    "InProcessRig",
    "chat_body",
    "open_rig",
    "sign_in",
    "tuned",
]

ISSUER = "http://auth.emulator.bench"
MODEL = "gpt-5.4"
RESPONSES = "/backend-api/codex/responses"
UPSTREAM_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
BENCH_LIMITS = Limits(v1=Rate(1_000_000_000, 60), auth_start=None, auth_poll=None)
"""The proxy's rate limit still counts every request (its cost is measured) but never refuses
one: the default 120 a minute per user is a policy, not a cost. For the same reason the bench's
mounts turn the per-user concurrency cap off (`max_concurrent_per_user=0`): one user drives
every connection; `--fairness` measures the cap on its own."""


T = TypeVar("T")


def tuned(app: T) -> T:
    """`app`, the collector tuned for serving once it is built (`authai-embed serve` does the
    same), unless `AUTHAI_BENCH_GC=default`. Every served app of the bench goes through it (the
    emulator, ours and the two floors), so that no side of a comparison runs with other
    collector settings: a floor on CPython's defaults pays full collections the others skip,
    30-40 ms each at a few thousand open streams."""
    if os.environ.get("AUTHAI_BENCH_GC") != "default":
        tune_gc()
    return app


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """The host app: nothing but 404, so only authai_embed's cost is measured."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def chat_body(
    *,
    stream: bool,
    messages: int = 1,
    tools: int = 0,
    text: str = "Say something about benchmarks.",
) -> dict[str, Any]:
    """A Chat Completions request: `messages` turns alternating user/assistant and ending with
    a user turn, and `tools` function definitions."""
    turns: list[dict[str, Any]] = []
    for n in range(messages - 1):
        role = "assistant" if (messages - 1 - n) % 2 == 1 else "user"
        turns.append({"role": role, "content": f"Turn {n}: {text}"})
    turns.append({"role": "user", "content": text})
    body: dict[str, Any] = {"model": MODEL, "messages": turns, "stream": stream}
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": f"tool_{n}",
                    "description": f"Tool number {n}, for the benchmark.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                        "required": ["city"],
                    },
                },
            }
            for n in range(tools)
        ]
    return body


@dataclass
class InProcessRig:
    """Everything an in-process measurement needs; `aclose()` when done."""

    emulator: Emulator
    authai: AuthAI
    ours: httpx.AsyncClient
    direct: httpx.AsyncClient
    jwt: str = ""
    access_token: str = ""
    _replays: dict[str, tuple[dict[str, str], bytes]] = field(default_factory=dict)

    @property
    def auth_header(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.jwt}"}

    async def direct_request(self, body: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
        """The upstream request the proxy makes for chat `body` (headers, JSON bytes), learnt
        once per body shape by sending it through the proxy and reading the emulator's record."""
        key = json.dumps(body, sort_keys=True)
        if key not in self._replays:
            response = await self.ours.post(
                "/authai/v1/chat/completions", json=body, headers=self.auth_header
            )
            await response.aread()
            response.raise_for_status()
            record = self.emulator.codex.last_request()
            headers = {k: v for k, v in record.headers.items() if k not in _HOP_HEADERS}
            headers["authorization"] = f"Bearer {self.access_token}"
            payload = json.dumps(record.body, separators=(",", ":")).encode()
            self._replays[key] = (headers, payload)
        return self._replays[key]

    async def aclose(self) -> None:
        await self.ours.aclose()
        await self.direct.aclose()
        await self.authai.shutdown()
        await self.authai.http.aclose()
        await self.authai.store.close()


_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


async def sign_in(client: httpx.AsyncClient, emulator: Emulator, prefix: str = "/authai") -> str:
    """The browser-side device flow against the in-process emulator; returns the JWT."""
    started = (await client.post(f"{prefix}/auth/start", json={"provider": "openai"})).json()
    emulator.approve(started["userCode"])
    polled = (await client.get(f"{prefix}/auth/poll/{started['sessionId']}")).json()
    if polled.get("status") != "complete":
        raise RuntimeError(f"sign-in did not complete: {polled}")
    jwt: str = polled["jwt"]
    return jwt


async def open_rig(
    *,
    store: AuthStore | None = None,
    clock: Clock | None = None,
    mount_options: Mapping[str, Any] | None = None,
    **emulator_options: Any,
) -> InProcessRig:
    """A started rig with one signed-in user; `mount_options` go to `mount_authai`."""
    emulator = Emulator(issuer=ISSUER, clock=clock, **emulator_options)
    # The client AuthAI makes for itself, with the in-process emulator as its transport.
    upstream = new_upstream_client(UPSTREAM_TIMEOUT, transport=StreamingASGITransport(emulator))
    app_store = store if store is not None else MemoryStore()
    host = mount_authai(
        not_found,
        store=app_store,
        secrets=Secrets.generate(),
        http_client=upstream,
        clock=clock,
        limits=BENCH_LIMITS,
        openai={"issuer": ISSUER, "api_base": f"{ISSUER}/backend-api/codex"},
        **{"max_concurrent_per_user": 0, **(mount_options or {})},
    )
    assert isinstance(host, AuthAI)
    await host.startup()
    ours = httpx.AsyncClient(
        transport=StreamingASGITransport(host), base_url="http://app.bench", timeout=60
    )
    direct = httpx.AsyncClient(
        transport=StreamingASGITransport(emulator), base_url=ISSUER, timeout=60
    )
    rig = InProcessRig(emulator, host, ours, direct)
    rig.jwt = await sign_in(ours, emulator)
    session = await host.sessions.open_session(rig.jwt)
    rig.access_token = session.credentials.access
    return rig
