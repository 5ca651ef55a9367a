"""The upstream client's sharded transport: requests spread over its pools, all of them closed."""

from __future__ import annotations

import httpx
import pytest

from authai_embed import AuthAI, MemoryStore, Secrets
from authai_embed.sharded_transport import ShardedTransport
from tests.loopback import served

pytestmark = pytest.mark.anyio


async def app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


async def test_requests_go_round_robin_over_the_pools_and_close_with_them() -> None:
    transport = ShardedTransport(shards=3)
    async with served(app) as base, httpx.AsyncClient(transport=transport) as client:
        for _ in range(9):
            assert (await client.get(base)).text == "ok"
        kept = [len(pool._pool.connections) for pool in transport._pools]
        assert kept == [1, 1, 1]  # each pool served 3 requests on its own kept-alive connection
    assert all(len(pool._pool.connections) == 0 for pool in transport._pools)


def test_at_least_one_shard() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ShardedTransport(shards=0)


async def test_authai_uses_it_for_the_client_it_makes() -> None:
    authai = AuthAI(store=MemoryStore(), secrets=Secrets.generate())
    try:
        assert isinstance(authai.http._transport, ShardedTransport)
    finally:
        await authai.shutdown()
