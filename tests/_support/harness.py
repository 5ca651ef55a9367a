"""The test harness: a host FastAPI app with authai mounted at /authai, wired to the upstream
emulator in-process, plus the upstream URLs every test configures. Tests import from here; the
`make_harness` fixture in `tests/conftest.py` builds these and closes them afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from authai_embed import (
    AuthAI,
    AuthStore,
    Secrets,
    StreamingASGITransport,
    mount_authai,
    new_upstream_client,
)
from authai_embed.testing import Emulator, ManualClock

ISSUER = "http://auth.emulator.test"
START = 1_800_000_000.0

UPSTREAM = {"issuer": ISSUER, "api_base": f"{ISSUER}/backend-api/codex"}
GITHUB_UPSTREAM = {"web_base": f"{ISSUER}/github", "api_base": f"{ISSUER}/github-api"}
XAI_UPSTREAM = {
    "issuer": f"{ISSUER}/xai-auth",
    "api_base": f"{ISSUER}/xai/v1",
    "subscription_base": f"{ISSUER}/grok-cli/v1",
}
PROVIDERS = ("openai", "github", "xai")


@dataclass
class Harness:
    """A host FastAPI app with authai mounted at /authai, a client for it, and the pieces."""

    app: FastAPI
    authai: AuthAI
    client: httpx.AsyncClient
    emulator: Emulator
    clock: ManualClock
    store: AuthStore
    secrets: Secrets

    provider: str = "openai"
    """The provider `sign_in` uses unless told otherwise."""

    async def sign_in(self, account: str | None = None, provider: str | None = None) -> str:
        """The whole browser-side flow: start, approve at the emulator, poll until complete."""
        provider = provider or self.provider
        start = await self.client.post("/authai/auth/start", json={"provider": provider})
        started = start.json()
        self.approve(provider, started["userCode"], account)
        self.clock.advance(started["pollIntervalMs"] / 1000)
        polled = (await self.client.get(f"/authai/auth/poll/{started['sessionId']}")).json()
        assert polled["status"] == "complete", polled
        jwt: str = polled["jwt"]
        return jwt

    def approve(self, provider: str, user_code: str, account: str | None = None) -> None:
        """Approve a user code at the provider's emulated sign-in page."""
        if provider == "github":
            self.emulator.github.approve(user_code, login=account)
        elif provider == "xai":
            self.emulator.xai.approve(user_code, account=account)
        else:
            self.emulator.approve(user_code, account=account)

    async def aclose(self) -> None:
        """Close the host client, shut `AuthAI` down and close its upstream client."""
        await self.client.aclose()
        await self.authai.shutdown()
        await self.authai.http.aclose()


HarnessFactory = Callable[..., Awaitable[Harness]]
"""`make_harness(store=..., **settings)`: a new `Harness`; settings override the defaults."""


def emulator_client(emulator: Emulator) -> httpx.AsyncClient:
    """AuthAI's upstream client (the one a mount makes for itself), reaching the emulator
    in-process and streaming."""
    return new_upstream_client(
        httpx.Timeout(60.0, connect=10.0), transport=StreamingASGITransport(emulator)
    )


def build_harness(
    *,
    emulator: Emulator,
    store: AuthStore,
    secrets: Secrets,
    clock: ManualClock,
    **options: Any,
) -> Harness:
    """A `Harness` with every provider pointed at the emulator; `options` are `mount_authai`
    keywords overriding those defaults. The caller closes it (`Harness.aclose`)."""
    app = FastAPI()
    settings: dict[str, Any] = {
        "openai": UPSTREAM,
        "github": GITHUB_UPSTREAM,
        "xai": XAI_UPSTREAM,
        "providers": PROVIDERS,
        **options,
    }
    authai = mount_authai(
        app,
        store=store,
        secrets=secrets,
        http_client=emulator_client(emulator),
        clock=clock,
        **settings,
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test")
    return Harness(app, authai, client, emulator, clock, store, secrets)
