"""`ShardedTransport`: the upstream client's connections spread over several small pools.

httpcore's connection pool walks every connection it holds each time a request starts or ends,
so its cost per request grows with the number of open streams. A proxy holds one long stream per
user request: with 64 at once, that walk was the largest single cost of a served request, and
throughput fell as concurrency rose. Requests go round-robin to `shards` independent pools, which
divides that work by the number of shards; each pool still keeps its connections alive.
"""

from __future__ import annotations

import itertools

import httpx

__all__ = ["ShardedTransport"]


class ShardedTransport(httpx.AsyncBaseTransport):
    """Round-robin over `shards` `httpx.AsyncHTTPTransport`s built with the same `limits`."""

    def __init__(self, *, shards: int = 8, limits: httpx.Limits | None = None) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        per_shard = limits or httpx.Limits(max_connections=256, max_keepalive_connections=32)
        self._pools = [httpx.AsyncHTTPTransport(limits=per_shard) for _ in range(shards)]
        self._turn = itertools.count()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pools[next(self._turn) % len(self._pools)]
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
