"""Worker processes for the cross-process refresh tests: each builds its own `AuthAI` on the
shared store and calls the proxy in-process, the upstream emulator being served on loopback by
the test process.

Everything a worker needs crosses the process boundary as a `WorkerSpec` of plain strings, so
the workers are started with the `spawn` method (a clean interpreter, like a real uvicorn
worker) and share nothing with the test but the store and the emulator's port.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from authai_embed import AuthAI, Secrets, StreamingASGITransport
from authai_embed.auth import sessions as lifecycle
from authai_embed.stores.url import store_from_url

MODELS = {"openai": "gpt-5.4", "xai": "grok-4"}
"""The model each provider's storm asks."""
KILLED_EXIT = 17
"""The exit code of a worker that killed itself between the refresh answer and the write."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs: the shared store, the secrets, where the emulator listens."""

    store_url: str
    jwt_secret_hex: str
    identity_secret_hex: str
    upstream_base: str
    provider: str = "openai"

    def authai(self, **options: Any) -> AuthAI:
        """A fresh `AuthAI` of this deployment: its own store connection and HTTP client. A storm
        is one user's many concurrent calls by design: the per-user concurrency cap is off."""
        options.setdefault("max_concurrent_per_user", 0)
        return AuthAI(
            store=store_from_url(self.store_url),
            secrets=Secrets.from_hex(self.jwt_secret_hex, self.identity_secret_hex),
            **upstream_options(self.provider, self.upstream_base),
            **options,
        )


def upstream_options(provider: str, base: str) -> dict[str, Any]:
    """`AuthAI` keyword settings pointing `provider` at the emulator served at `base`."""
    if provider == "openai":
        return {"openai": {"issuer": base, "api_base": f"{base}/backend-api/codex"}}
    if provider == "xai":
        return {
            "providers": ("xai",),
            "xai": {"issuer": f"{base}/xai-auth", "api_base": f"{base}/xai/v1"},
        }
    raise AssertionError(f"no emulator settings for provider {provider!r}")


async def call_proxy(
    authai: AuthAI, jwt: str, count: int, provider: str = "openai"
) -> list[dict[str, Any]]:
    """`count` concurrent chat completions through `authai`; each one's status and body."""
    chat = {"model": MODELS[provider], "messages": [{"role": "user", "content": "hello"}]}
    results: list[dict[str, Any]] = []
    transport = StreamingASGITransport(authai)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://worker.test", timeout=60
    ) as client:

        async def one() -> None:
            response = await client.post(
                "/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {jwt}"}
            )
            results.append({"status": response.status_code, "body": response.json()})

        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
    return results


def storm_worker(spec: WorkerSpec, jwt: str, count: int, out: str, start: Any) -> None:
    """A worker process: open the store, wait for the others, send `count` concurrent requests,
    write their outcomes as JSON to `out`."""

    async def run() -> list[dict[str, Any]]:
        authai = spec.authai()
        await authai.startup()
        try:
            await anyio.to_thread.run_sync(start.wait)
            return await call_proxy(authai, jwt, count, spec.provider)
        finally:
            await authai.shutdown()

    Path(out).write_text(json.dumps(anyio.run(run)))


def sessions_storm_worker(
    spec: WorkerSpec, jwts: list[str], count: int, out: str, start: Any
) -> None:
    """A worker process for several sessions of one account: `count` concurrent requests for
    each JWT in `jwts`, all at once; writes `{jwt index: outcomes}` as JSON to `out`."""

    async def run() -> dict[int, list[dict[str, Any]]]:
        authai = spec.authai()
        await authai.startup()
        results: dict[int, list[dict[str, Any]]] = {}
        try:
            await anyio.to_thread.run_sync(start.wait)

            async def one(index: int, jwt: str) -> None:
                results[index] = await call_proxy(authai, jwt, count, spec.provider)

            async with anyio.create_task_group() as tg:
                for index, jwt in enumerate(jwts):
                    tg.start_soon(one, index, jwt)
            return results
        finally:
            await authai.shutdown()

    Path(out).write_text(json.dumps(anyio.run(run)))


def dying_worker(spec: WorkerSpec, jwt: str, lease_seconds: float, start: Any) -> None:
    """A worker process that dies the hard way (no cleanup, lease still held) once the provider
    has answered its refresh and before the new tokens are written."""
    lifecycle.LEASE_SECONDS = lease_seconds

    async def run() -> None:
        authai = spec.authai()
        await authai.startup()
        store = authai.store

        async def die_instead_of_writing(*_: Any, **__: Any) -> bool:
            os._exit(KILLED_EXIT)

        store.swap_record = die_instead_of_writing  # type: ignore[method-assign]
        await anyio.to_thread.run_sync(start.wait)
        await call_proxy(authai, jwt, 1, spec.provider)

    anyio.run(run)
