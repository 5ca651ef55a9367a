"""Shared fixtures: a manual clock, the upstream emulator, an `AuthAI` wired to it, a host app
mounting it, and a signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authai_embed import AuthAI, AuthStore, MemoryStore, Secrets, SQLiteStore, mount_authai
from authai_embed._transports.asgi import StreamingASGITransport
from authai_embed.testing import Emulator, ManualClock

ISSUER = "http://auth.emulator.test"
START = 1_800_000_000.0

pytest_plugins = ["tests._support.token_guard", "pytester"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    return Emulator(clock=clock, issuer=ISSUER)


@pytest.fixture
def secrets_() -> Secrets:
    return Secrets.generate()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> AuthStore:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "authai.db")


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


UPSTREAM = {"issuer": ISSUER, "api_base": f"{ISSUER}/backend-api/codex"}
GITHUB_UPSTREAM = {"web_base": f"{ISSUER}/github", "api_base": f"{ISSUER}/github-api"}
XAI_UPSTREAM = {
    "issuer": f"{ISSUER}/xai-auth",
    "api_base": f"{ISSUER}/xai/v1",
    "subscription_base": f"{ISSUER}/grok-cli/v1",
}
PROVIDERS = ("openai", "github", "xai")


def emulator_client(emulator: Emulator) -> httpx.AsyncClient:
    """AuthAI's upstream client, reaching the emulator in-process and streaming."""
    return httpx.AsyncClient(transport=StreamingASGITransport(emulator))


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(
    emulator: Emulator, store: AuthStore, secrets_: Secrets, clock: ManualClock
) -> AsyncIterator[HarnessFactory]:
    made: list[Harness] = []

    async def factory(*, store: AuthStore = store, **options: object) -> Harness:
        app = FastAPI()
        authai = mount_authai(
            app,
            store=store,
            secrets=secrets_,
            http_client=emulator_client(emulator),
            clock=clock,
            **{
                "openai": UPSTREAM,
                "github": GITHUB_UPSTREAM,
                "xai": XAI_UPSTREAM,
                "providers": PROVIDERS,
                **options,
            },
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.test"
        )
        harness = Harness(app, authai, client, emulator, clock, store, secrets_)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.client.aclose()
        await harness.authai.shutdown()
        await harness.authai.http.aclose()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    return await make_harness()
