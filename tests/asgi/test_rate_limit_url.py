"""`rate_limit_url` (`AUTH_AI_RATE_LIMIT_URL`): the mount's rate limits counted in Redis, so every
process (every `serve --workers N` worker, every host) shares one count. Two mounts on one store
stand in for two workers: each has its own limiter object and can only share a count through
Redis. The URL may hold a password: it is never in a repr, an error or a log."""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from authai_embed import (
    AuthAI,
    ConfigError,
    Limits,
    MemoryRateLimiter,
    MemoryStore,
    Quota,
    Quotas,
    Rate,
    Secrets,
    Settings,
    mount_authai,
)
from authai_embed.asgi.limiter_url import limiter_from_url
from authai_embed.testing import Emulator, ManualClock
from tests._support.faults import closed_port
from tests._support.harness import UPSTREAM, HarnessFactory, emulator_client
from tests._support.services import require_service

pytestmark = pytest.mark.anyio
memory_only = pytest.mark.parametrize("store", ["memory"], indirect=True)

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "hunter2-" + secrets.token_hex(4)
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


@pytest.fixture
async def tenant() -> AsyncIterator[str]:
    """Redis, or the test is skipped (failed under `AUTHAI_REQUIRE_SERVICES`); and an `app_id`
    of the test's own, so its counts (`authai:rl:<app_id>:*`) are no other test's or test run's
    on the same Redis, and are deleted afterwards."""
    require_service("Redis", REDIS_URL, 6379)
    import redis.asyncio as redis_asyncio

    app_id = f"test-{secrets.token_hex(6)}"
    yield app_id
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"authai:rl:{app_id}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def rate_keys(prefix: str) -> list[str]:
    """The keys in Redis under `prefix`, sorted."""
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        return sorted([key async for key in client.scan_iter(match=prefix + "*")])
    finally:
        await client.aclose()


Build = Callable[..., tuple[Any, AuthAI]]


def by_mount(**kw: Any) -> tuple[Any, AuthAI]:
    app = FastAPI()
    return app, mount_authai(app, **kw)


def by_class(**kw: Any) -> tuple[Any, AuthAI]:
    authai = AuthAI(**kw)
    return authai, authai


BUILDERS = pytest.mark.parametrize("build", [by_mount, by_class], ids=["mount_authai", "AuthAI"])
PREFIX = {by_mount: "/authai", by_class: ""}


@BUILDERS
@pytest.mark.redis
async def test_the_variable_makes_two_mounts_share_one_count(
    build: Build,
    monkeypatch: pytest.MonkeyPatch,
    emulator: Emulator,
    clock: ManualClock,
    tenant: str,
) -> None:
    """`AUTH_AI_RATE_LIMIT_URL` alone (no `limiter=`): two mounts, as two workers would, admit
    `auth_start`'s 2 a minute from one client in total, not 2 each."""
    monkeypatch.setenv("AUTH_AI_RATE_LIMIT_URL", REDIS_URL)
    monkeypatch.setenv("AUTH_AI_APP_ID", tenant)
    store, keys = MemoryStore(), Secrets.generate()
    built = [
        build(
            secrets=keys,
            store=store,
            clock=clock,
            http_client=emulator_client(emulator),
            openai=UPSTREAM,
            limits=Limits(auth_start=Rate(2, 60)),
        )
        for _ in range(2)
    ]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test")
        for app, _ in built
    ]
    path = PREFIX[build] + "/auth/start"
    try:
        assert built[0][1].settings.rate_limit_url == REDIS_URL
        statuses = [(await c.post(path, json={})).status_code for c in (*clients, *clients)]
        assert statuses == [200, 200, 429, 429]
        assert await rate_keys(f"authai:rl:{tenant}:") == [f"authai:rl:{tenant}:start:127.0.0.1"]
    finally:
        for client, (_, authai) in zip(clients, built, strict=True):
            await client.aclose()
            await authai.shutdown()
            await authai.http.aclose()


@memory_only
@pytest.mark.redis
async def test_a_v1_limit_of_n_admits_n_in_total_across_two_mounts(
    make_harness: HarnessFactory, tenant: str
) -> None:
    limits = Limits(v1=Rate(3, 60))
    first, second = [
        await make_harness(rate_limit_url=REDIS_URL, app_id=tenant, limits=limits) for _ in range(2)
    ]
    jwt = await first.sign_in()  # one user, one session, served by either mount
    answers = []
    for harness in (first, second, first, second, first):
        reply = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
        )
        answers.append(reply.status_code)
    assert answers == [200, 200, 200, 429, 429]


@memory_only
@pytest.mark.redis
async def test_a_quotas_requests_per_minute_are_shared_too(
    make_harness: HarnessFactory, tenant: str
) -> None:
    quotas = Quotas(default=Quota(requests_per_minute=2))
    first, second = [
        await make_harness(rate_limit_url=REDIS_URL, app_id=tenant, quotas=quotas) for _ in range(2)
    ]
    jwt = await first.sign_in()
    answers = []
    for harness in (first, second, second):
        reply = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
        )
        answers.append(reply)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "2 requests per minute" in answers[-1].json()["error"]["message"]


@memory_only
@pytest.mark.redis
async def test_a_tenant_counts_under_its_own_prefix(
    make_harness: HarnessFactory, tenant: str
) -> None:
    """Two tenants on one Redis: like two mounts in memory, neither uses up the other's limit."""
    apps = (f"{tenant}-one", f"{tenant}-two")
    for app in apps:
        limits = Limits(auth_start=Rate(1, 60))
        harness = await make_harness(rate_limit_url=REDIS_URL, app_id=app, limits=limits)
        assert (await harness.client.post("/authai/auth/start", json={})).status_code == 200
        assert (await harness.client.post("/authai/auth/start", json={})).status_code == 429
    assert await rate_keys(f"authai:rl:{tenant}") == [
        f"authai:rl:{app}:start:127.0.0.1" for app in apps
    ]


@memory_only
async def test_an_explicit_limiter_wins_over_the_setting(make_harness: HarnessFactory) -> None:
    """The setting names a Redis nobody listens on (which would let everything through): the
    host's own limiter counts instead, and stays open after the mount's shutdown."""

    class HostLimiter(MemoryRateLimiter):
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    limiter = HostLimiter()
    harness = await make_harness(
        rate_limit_url=f"redis://127.0.0.1:{closed_port()}/0",
        limits=Limits(limiter=limiter, auth_start=Rate(1, 60)),
    )
    assert (await harness.client.post("/authai/auth/start", json={})).status_code == 200
    assert (await harness.client.post("/authai/auth/start", json={})).status_code == 429
    await harness.authai.shutdown()
    assert not limiter.closed


@pytest.mark.redis
async def test_shutdown_closes_the_limiter_the_mount_made(
    emulator: Emulator, clock: ManualClock, tenant: str
) -> None:
    import redis.asyncio as redis_asyncio

    name = f"authai-{tenant}"
    authai = AuthAI(
        secrets=Secrets.generate(),
        store=MemoryStore(),
        clock=clock,
        http_client=emulator_client(emulator),
        openai=UPSTREAM,
        rate_limit_url=f"{REDIS_URL}?client_name={name}",
        app_id=tenant,
    )
    admin = redis_asyncio.Redis.from_url(REDIS_URL)

    async def connections() -> int:
        return sum(1 for c in await admin.client_list() if c.get("name") == name)

    transport = httpx.ASGITransport(app=authai)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
            assert (await client.post("/auth/start", json={})).status_code == 200
        assert await connections() == 1
        await authai.shutdown()
        for _ in range(200):  # the server notices the close on its own time: up to 2 s
            if not await connections():
                break
            await anyio.sleep(0.01)
        assert await connections() == 0
    finally:
        await admin.aclose()
        await authai.http.aclose()


# -- errors, and the password -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"memcached://user:{PASSWORD}@cache:11211",
        f"http://:{PASSWORD}@127.0.0.1:6379",
        f"127.0.0.1:6379?password={PASSWORD}",
        f"unix:///run/redis.sock?password={PASSWORD}",
    ],
)
def test_another_scheme_is_a_config_error_without_the_url(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"rate_limit_url: must be a Redis URL: redis://") as kw:
        AuthAI(secrets=Secrets.generate(), store=MemoryStore(), rate_limit_url=url)
    monkeypatch.setenv("AUTH_AI_RATE_LIMIT_URL", url)
    with pytest.raises(ConfigError, match=r"must be a Redis URL") as env:
        mount_authai(FastAPI(), secrets=Secrets.generate(), store=MemoryStore())
    with pytest.raises(ConfigError, match=r"must be a Redis URL") as direct:
        limiter_from_url(url)
    with pytest.raises(ValueError, match=r"must be a Redis URL") as model:
        Settings(rate_limit_url=url)
    for error in (kw.value, env.value, direct.value, model.value):
        assert PASSWORD not in str(error)
        assert PASSWORD not in repr(error)


def test_an_unparsable_redis_url_is_a_config_error_without_the_url() -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:port/0"
    with pytest.raises(ConfigError, match=r"not a valid Redis URL") as caught:
        AuthAI(secrets=Secrets.generate(), store=MemoryStore(), rate_limit_url=url)
    assert PASSWORD not in str(caught.value)


def test_without_the_redis_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.setenv("AUTH_AI_RATE_LIMIT_URL", f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match=r"pip install 'authai-embed\[redis\]'") as caught:
        AuthAI(secrets=Secrets.generate(), store=MemoryStore())
    assert "AUTH_AI_RATE_LIMIT_URL" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_unset_or_empty_counts_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_AI_RATE_LIMIT_URL", "  ")
    monkeypatch.setitem(sys.modules, "redis", None)  # memory needs no extra
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    authai = AuthAI(secrets=Secrets.generate(), store=MemoryStore())
    assert authai.settings.rate_limit_url is None
    assert Settings(rate_limit_url="").rate_limit_url is None


@memory_only
@pytest.mark.redis
async def test_the_password_is_never_in_a_repr_or_a_log(
    make_harness: HarnessFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tenant: str,
) -> None:
    """The test server has no password: any is accepted, so the limiter works; then the same URL
    on a closed port, so the limiter's outage warning is logged too."""
    caplog.set_level(logging.DEBUG, logger="authai_embed")
    for url in (
        f"redis://:{PASSWORD}@127.0.0.1:6379/0",
        f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0",
    ):
        monkeypatch.setenv("AUTH_AI_RATE_LIMIT_URL", url)
        harness = await make_harness(app_id=tenant)
        assert (await harness.client.post("/authai/auth/start", json={})).status_code == 200
        assert harness.authai.settings.rate_limit_url == url
        for shown in (repr(harness.authai.settings), str(harness.authai.settings)):
            assert PASSWORD not in shown
        await harness.authai.shutdown()
    assert await rate_keys(f"authai:rl:{tenant}:") == [f"authai:rl:{tenant}:start:127.0.0.1"]
    assert "AUTH_AI_RATE_LIMIT_URL" in caplog.text  # the name, from the environment
    assert "rate limiter unavailable" in caplog.text
    assert PASSWORD not in caplog.text
