"""Abuse controls: per-IP limits on sign-in, per-user limits on /v1, the Redis limiter shared by
processes, the trusted-proxy rule for the client IP, and the host's guard on /auth/start."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from authai_embed import ConfigError, Limits, MemoryRateLimiter, Rate, RedisRateLimiter
from authai_embed.asgi.limits import client_ip, rate_key
from tests._support.faults import closed_port
from tests._support.harness import Harness, HarnessFactory
from tests._support.services import require_service

pytestmark = pytest.mark.anyio
# Limits do not depend on the store: the harness tests run on the fast one.
memory_only = pytest.mark.parametrize("store", ["memory"], indirect=True)

REDIS_URL = "redis://127.0.0.1:6379/0"
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
RATE_LIMITED = {"error": "rate limited"}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def client_from(harness: Harness, ip: str) -> httpx.AsyncClient:
    """A client on the harness's app whose connections come from `ip`."""
    transport = httpx.ASGITransport(app=harness.app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://app.test")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the limiter and its pieces ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/minute", Rate(10, 60)),
        ("5/second", Rate(5, 1)),
        ("1000/day", Rate(1000, 86400)),
        ("30/90", Rate(30, 90)),
        (" 7 / Hour ", Rate(7, 3600)),
    ],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "x/minute", "10/fortnight", "0/minute", "5/0", "5/nan"])
def test_bad_rates_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        Rate.parse(text)


async def test_memory_limiter_allows_a_burst_then_one_per_interval() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    rate = Rate(3, 60)
    assert [await limiter.hit("k", rate) for _ in range(3)] == [0, 0, 0]
    assert await limiter.hit("k", rate) == pytest.approx(20.0)
    assert await limiter.hit("other", rate) == 0  # keys are independent
    clock.now += 19.0
    assert await limiter.hit("k", rate) == pytest.approx(1.0)
    clock.now += 1.0
    assert await limiter.hit("k", rate) == 0
    assert await limiter.hit("k", rate) > 0


async def test_memory_limiter_stays_bounded() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock, max_keys=100)
    for n in range(1000):
        await limiter.hit(f"ip-{n}", Rate(1, 60))
    assert len(limiter._tat) <= 100


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),  # never trusted by default
        ("203.0.113.9", "1.2.3.4", ("10.0.0.0/8",), "203.0.113.9"),  # peer not a proxy
        ("10.0.0.5", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
        ("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.7", ("10.0.0.0/8",), "1.2.3.4"),  # spoofed head
        ("10.0.0.5", "junk, 1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
        ("10.0.0.5", "1.2.3.4, junk", ("10.0.0.0/8",), "10.0.0.5"),
        ("10.0.0.5", "", ("10.0.0.0/8",), "10.0.0.5"),
        ("::1", "2001:db8::1", ("::1",), "2001:db8::1"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded: str, trusted: tuple[str, ...], expected: str
) -> None:
    networks = Limits(trusted_proxies=trusted).networks()
    scope = {"client": (peer, 1234)}
    assert client_ip(scope, {"x-forwarded-for": forwarded}, networks) == expected


def test_client_ip_reads_every_forwarded_for_line() -> None:
    # Two proxies, each adding its own header line: the client is in the first line, and reading
    # only the last one would give every client the proxy's address (one shared bucket).
    networks = Limits(trusted_proxies=("10.0.0.0/8",)).networks()
    lines = [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-for", b"10.0.0.7")]
    scope = {"client": ("10.0.0.5", 1234), "headers": lines}
    assert client_ip(scope, {"x-forwarded-for": "10.0.0.7"}, networks) == "1.2.3.4"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("unknown", "unknown"),
    ],
)
def test_ipv6_clients_are_limited_per_64(address: str, key: str) -> None:
    assert rate_key(address) == key


@memory_only
async def test_one_ipv6_64_shares_a_bucket(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits=Limits(auth_start=Rate(1, 60)))
    first, second = client_from(harness, "2001:db8::1"), client_from(harness, "2001:db8::2")
    other = client_from(harness, "2001:db8:0:1::1")
    async with first, second, other:
        assert (await first.post("/authai/auth/start", json={})).status_code == 200
        assert (await second.post("/authai/auth/start", json={})).status_code == 429
        assert (await other.post("/authai/auth/start", json={})).status_code == 200


def test_a_bad_trusted_proxy_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Limits(trusted_proxies=("not-an-ip",)).networks()


# -- the limits on the routes ----------------------------------------------------------------


@memory_only
async def test_auth_start_is_limited_per_ip(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits=Limits(auth_start=Rate(2, 60)))
    a, b = client_from(harness, "198.51.100.1"), client_from(harness, "198.51.100.2")
    async with a, b:
        for _ in range(2):
            assert (await a.post("/authai/auth/start", json={})).status_code == 200
        refused = await a.post("/authai/auth/start", json={})
        assert refused.status_code == 429
        assert refused.json() == RATE_LIMITED
        assert 29 <= int(refused.headers["retry-after"]) <= 30
        # Forged X-Forwarded-For does not buy a fresh bucket (no proxy is trusted by default).
        forged = await a.post(
            "/authai/auth/start", json={}, headers={"x-forwarded-for": "192.0.2.77"}
        )
        assert forged.status_code == 429
        assert (await b.post("/authai/auth/start", json={})).status_code == 200


@memory_only
async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_bucket(
    make_harness: HarnessFactory,
) -> None:
    limits = Limits(auth_start=Rate(1, 60), trusted_proxies=("10.0.0.0/8",))
    harness = await make_harness(limits=limits)
    async with client_from(harness, "10.1.2.3") as proxy:

        async def start(ip: str) -> int:
            headers = {"x-forwarded-for": ip}
            return (await proxy.post("/authai/auth/start", json={}, headers=headers)).status_code

        assert [await start("192.0.2.1"), await start("192.0.2.2")] == [200, 200]
        assert await start("192.0.2.1") == 429


@memory_only
async def test_auth_poll_is_limited_per_ip(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits=Limits(auth_poll=Rate(3, 60)))
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    answers = [
        (await harness.client.get(f"/authai/auth/poll/{started['sessionId']}")).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]


@memory_only
async def test_v1_is_limited_per_user_in_the_openai_envelope(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits=Limits(v1=Rate(2, 60)))
    harness.emulator.add_account("acct-b", email="b@example.com")
    alice, bob = await harness.sign_in(), await harness.sign_in(account="acct-b")
    post = harness.client.post
    for _ in range(2):
        ok = await post("/authai/v1/chat/completions", headers=bearer(alice), json=CHAT)
        assert ok.status_code == 200
    refused = await post("/authai/v1/chat/completions", headers=bearer(alice), json=CHAT)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_exceeded"
    assert error["code"] == "rate_limit_exceeded"
    assert "rate limited" in error["message"]
    assert harness.emulator.codex.stats.requests == 2  # the refused call never went upstream
    models = await harness.client.get("/authai/v1/models", headers=bearer(alice))
    assert models.status_code == 429
    assert (await post("/authai/v1/chat/completions", headers=bearer(bob), json=CHAT)).is_success
    # An invalid token is the uniform 401, never counted against anyone.
    anon = await post("/authai/v1/chat/completions", headers=bearer("x.y.z"), json=CHAT)
    assert anon.status_code == 401


@memory_only
async def test_limits_can_be_switched_off(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits=Limits(auth_start=None, auth_poll=None, v1=None))
    for _ in range(15):
        assert (await harness.client.post("/authai/auth/start", json={})).status_code == 200


@memory_only
async def test_default_limits_let_a_normal_sign_in_through(harness: Harness) -> None:
    jwt = await harness.sign_in()
    for _ in range(5):
        response = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
        )
        assert response.status_code == 200


# -- who may start a sign-in ------------------------------------------------------------------


@memory_only
async def test_start_guard_refuses_with_the_uniform_401(make_harness: HarnessFactory) -> None:
    seen: list[dict[str, Any]] = []

    def guard(scope: dict[str, Any]) -> bool:
        seen.append(scope)
        return (b"cookie", b"host_session=valid") in scope["headers"]

    harness = await make_harness(start_guard=guard)
    refused = await harness.client.post("/authai/auth/start", json={})
    assert (refused.status_code, refused.content) == (401, b'{"error":"unauthorized"}')
    assert harness.emulator.device_authorizations() == []  # no user code was ever made
    allowed = await harness.client.post(
        "/authai/auth/start", json={}, headers={"cookie": "host_session=valid"}
    )
    assert allowed.status_code == 200
    assert len(seen) == 2
    # Polls and everything else are not the guard's business.
    poll = await harness.client.get(f"/authai/auth/poll/{allowed.json()['sessionId']}")
    assert poll.status_code == 200
    assert len(seen) == 2


@memory_only
async def test_an_async_start_guard_is_awaited(make_harness: HarnessFactory) -> None:
    async def guard(scope: dict[str, Any]) -> bool:
        return scope["method"] == "POST" and dict(scope["headers"]).get(b"x-user") == b"42"

    harness = await make_harness(start_guard=guard)
    assert (await harness.client.post("/authai/auth/start", json={})).status_code == 401
    ok = await harness.client.post("/authai/auth/start", json={}, headers={"x-user": "42"})
    assert ok.status_code == 200


@memory_only
async def test_a_start_guard_must_be_callable(make_harness: HarnessFactory) -> None:
    with pytest.raises(ConfigError):
        await make_harness(start_guard="yes")


# -- Redis, shared by processes -----------------------------------------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    require_service("Redis", REDIS_URL, 6379)
    import redis.asyncio as redis_asyncio

    prefix = f"authai_test:{secrets.token_hex(6)}:"
    yield prefix
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.redis
async def test_redis_limiter_is_shared_between_processes(redis_prefix: str) -> None:
    one = RedisRateLimiter.from_url(REDIS_URL, prefix=redis_prefix)
    two = RedisRateLimiter.from_url(REDIS_URL, prefix=redis_prefix)
    try:
        rate = Rate(3, 60)
        waits = [await limiter.hit("start:1.2.3.4", rate) for limiter in (one, two, one)]
        assert waits == [0, 0, 0]
        assert 19 <= await two.hit("start:1.2.3.4", rate) <= 20
        assert await one.hit("start:5.6.7.8", rate) == 0
    finally:
        await one.aclose()
        await two.aclose()


@memory_only
@pytest.mark.redis
async def test_two_mounts_on_redis_share_the_per_ip_limit(
    make_harness: HarnessFactory, redis_prefix: str
) -> None:
    """Each mount has its own limiter object, as two processes would: they can only share the
    count through Redis, where it is."""
    import redis.asyncio as redis_asyncio

    limiters = [RedisRateLimiter.from_url(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    first, second = [
        await make_harness(limits=Limits(limiter=limiter, auth_start=Rate(2, 60)))
        for limiter in limiters
    ]
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        assert (await first.client.post("/authai/auth/start", json={})).status_code == 200
        assert (await second.client.post("/authai/auth/start", json={})).status_code == 200
        refused = await first.client.post("/authai/auth/start", json={})
        assert refused.status_code == 429
        assert refused.json() == RATE_LIMITED
        keys = [key async for key in client.scan_iter(match=redis_prefix + "*")]
        assert keys == [f"{redis_prefix}start:127.0.0.1".encode()]
    finally:
        await client.aclose()
        for limiter in limiters:
            await limiter.aclose()


async def test_an_unreachable_redis_lets_requests_through_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="authai_embed.limits")
    limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{closed_port()}/0", prefix="x:")
    try:
        assert [await limiter.hit("k", Rate(1, 60)) for _ in range(3)] == [0, 0, 0]
    finally:
        await limiter.aclose()
    warnings = [r for r in caplog.records if r.name == "authai_embed.limits"]
    assert len(warnings) == 1
    assert "rate limiter unavailable" in warnings[0].getMessage()
