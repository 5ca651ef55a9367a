"""`ReaderThread`: one thread that runs a store's blocking reads for asyncio callers.

A queue in, `call_soon_threadsafe` out, and nothing else: `loop.run_in_executor` chains two
futures per call and `anyio.to_thread` does more still, on the event loop, for a read that
happens on every proxied request (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ReaderThread"]

T = TypeVar("T")
_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class ReaderThread:
    """Runs `call()`s one at a time on a daemon thread, started on first use; `close()` ends it
    once the calls queued before it are done. A caller that is cancelled stops waiting; its
    call still runs (reads only: nothing is left half-done)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def run(self, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(
                target=_work, args=(self._jobs,), name=self._name, daemon=True
            )
            self._thread.start()
        self._jobs.put((call, loop, future))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)  # this thread's last job; a later run() starts another
            self._jobs = queue.SimpleQueue()
            self._thread = None


def _work(jobs: queue.SimpleQueue[_Job | None]) -> None:
    while (job := jobs.get()) is not None:
        call, loop, future = job
        try:
            result, error = call(), None
        except BaseException as exc:  # handed to the caller, whatever it is
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
