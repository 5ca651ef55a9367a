"""The upstream connection pool without sockets: the cap per origin, and waiters that leave."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from authai_embed._transports.connection import Connection
from authai_embed._transports.pool import Key, Pool

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the pool serves the asyncio transport only


def origin() -> tuple[Key, list[Connection]]:
    loop = asyncio.get_running_loop()
    return ("http", "upstream.test", 80, loop), []


async def test_a_waiter_cancelled_as_it_is_woken_passes_the_connection_on() -> None:
    pool = Pool(max_connections=1, max_idle=4, keepalive_expiry=60.0)
    key, made = origin()

    async def connect() -> Connection:
        made.append(Connection(key[3]))
        return made[-1]

    first = await pool.acquire(key, connect, None)
    cancelled = asyncio.ensure_future(pool.acquire(key, connect, None))
    waiting = asyncio.ensure_future(pool.acquire(key, connect, None))
    await asyncio.sleep(0)  # both wait, `cancelled` first in line
    pool.release(key, first, reusable=True)  # wakes `cancelled` ...
    cancelled.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(waiting, 5.0) is first
    assert cancelled.cancelled()
    assert len(made) == 1


async def test_a_closed_connection_frees_its_place_once() -> None:
    pool = Pool(max_connections=1, max_idle=4, keepalive_expiry=60.0)
    key, made = origin()

    async def connect() -> Connection:
        made.append(Connection(key[3]))
        return made[-1]

    conn = await pool.acquire(key, connect, None)
    conn.close()
    conn.close()  # twice: counted out once
    second = await pool.acquire(key, connect, None)
    assert second is not conn
    with pytest.raises(httpx.PoolTimeout):
        await pool.acquire(key, connect, 0.01)


async def test_a_failed_connect_frees_its_place() -> None:
    pool = Pool(max_connections=1, max_idle=4, keepalive_expiry=60.0)
    key, _ = origin()

    async def refused() -> Connection:
        raise httpx.ConnectError("refused")

    for _ in range(3):
        with pytest.raises(httpx.ConnectError):
            await pool.acquire(key, refused, 0.01)


async def test_closing_the_pool_wakes_its_waiters() -> None:
    pool = Pool(max_connections=1, max_idle=4, keepalive_expiry=60.0)
    key, _ = origin()

    async def connect() -> Connection:
        return Connection(key[3])

    await pool.acquire(key, connect, None)
    waiter = asyncio.ensure_future(pool.acquire(key, connect, None))
    await asyncio.sleep(0)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.wait_for(waiter, 5.0)
