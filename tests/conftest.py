"""Shared fixtures: a manual clock, the upstream emulator, an `AuthAI` wired to it, a host app
mounting it, and a signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from authai_embed import AuthStore, MemoryStore, Secrets, SQLiteStore
from authai_embed.testing import Emulator, ManualClock
from tests._support.harness import ISSUER, START, Harness, HarnessFactory, build_harness

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


@pytest.fixture
async def make_harness(
    emulator: Emulator, store: AuthStore, secrets_: Secrets, clock: ManualClock
) -> AsyncIterator[HarnessFactory]:
    made: list[Harness] = []

    async def factory(*, store: AuthStore = store, **options: Any) -> Harness:
        harness = build_harness(
            emulator=emulator, store=store, secrets=secrets_, clock=clock, **options
        )
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.aclose()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    return await make_harness()
