"""`watched` (asyncio): with `after` (the mount's `/v1` calls), the watcher starts only once the
work has run that long, and a client that left before then is still noticed; without, at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from authai_embed.asgi.disconnect import WATCH_AFTER, watched

pytestmark = pytest.mark.anyio


async def _endless(closed: asyncio.Event) -> str:
    """Work that never ends by itself; `closed` is set when it is cancelled."""
    try:
        await asyncio.sleep(60)
    finally:
        closed.set()
    return "never"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_an_answer_ready_at_once_starts_no_watcher() -> None:
    asked: list[float] = []

    async def gone() -> bool:
        asked.append(time.monotonic())
        await asyncio.Event().wait()
        return False

    async def work() -> str:
        for _ in range(5):  # an answer's few awaits, each a turn of the loop
            await asyncio.sleep(0)
        return "answer"

    assert await watched(work(), gone, after=WATCH_AFTER) == ("answer", False)
    await asyncio.sleep(WATCH_AFTER * 3)  # the timer was cancelled with the work's end
    assert asked == []


async def test_a_client_that_left_before_the_watcher_started_is_noticed_as_it_starts() -> None:
    closed = asyncio.Event()

    async def gone() -> bool:  # the server kept the disconnect: the first receive returns it
        return True

    began = time.monotonic()
    assert await asyncio.wait_for(watched(_endless(closed), gone, after=WATCH_AFTER), 5) == (
        None,
        True,
    )
    assert time.monotonic() - began >= WATCH_AFTER * 0.9  # the loop's clock may round
    assert closed.is_set()  # the work was cancelled, its `finally` ran


async def test_a_client_leaving_later_cancels_the_work() -> None:
    leave = asyncio.Event()
    closed = asyncio.Event()

    async def gone() -> bool:
        await leave.wait()
        return True

    task = asyncio.ensure_future(watched(_endless(closed), gone, after=WATCH_AFTER))
    await asyncio.sleep(WATCH_AFTER * 3)
    assert not task.done()
    leave.set()
    assert await asyncio.wait_for(task, 5) == (None, True)
    assert closed.is_set()


async def test_without_a_delay_the_watcher_starts_at_once() -> None:
    async def gone() -> bool:
        return True

    closed = asyncio.Event()
    began = time.monotonic()
    assert await asyncio.wait_for(watched(_endless(closed), gone), 5) == (None, True)
    assert time.monotonic() - began < WATCH_AFTER
    assert closed.is_set()
