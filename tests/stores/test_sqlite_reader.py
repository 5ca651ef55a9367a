"""The SQLite store's read thread: results and errors come back, a closed one starts again."""

from __future__ import annotations

import asyncio
import threading

import pytest

from authai_embed.stores._reader import ReaderThread

pytestmark = pytest.mark.anyio


async def test_calls_run_on_its_thread_and_errors_reach_the_caller() -> None:
    reader = ReaderThread("test-reader")
    try:
        assert await reader.run(threading.current_thread) is not threading.current_thread()

        def fails() -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            await reader.run(fails)
    finally:
        reader.close()


async def test_a_closed_reader_starts_again_and_a_cancelled_caller_breaks_nothing() -> None:
    reader = ReaderThread("test-reader")
    release = threading.Event()
    slow = asyncio.ensure_future(reader.run(lambda: release.wait(5)))
    await asyncio.sleep(0.01)
    slow.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await reader.run(lambda: 1) == 1
    reader.close()
    assert await reader.run(lambda: 2) == 2  # a new thread
    reader.close()
