"""Measurements 1, 2 and 6: the in-process client against the emulator, ours vs direct.

Every sample pair is taken back to back (ours, then direct) so that machine noise hits both.
"""

from __future__ import annotations

import gc
import re
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .rig import RESPONSES, InProcessRig, chat_body
from .stats import Summary, summarize

__all__ = [
    "Paired",
    "ScalePoint",
    "measure_nonstreaming",
    "measure_scaling",
    "measure_ttft",
]

CHAT = "/authai/v1/chat/completions"
_FIRST_TEXT = re.compile(rb'"content":"[^"]')
_FIRST_DELTA = b"response.output_text.delta"


@dataclass(frozen=True, slots=True)
class Paired:
    """Ours and direct, in milliseconds."""

    ours: Summary
    direct: Summary

    @property
    def added_p50(self) -> float:
        return self.ours.p50 - self.direct.p50

    @property
    def added_p99(self) -> float:
        return self.ours.p99 - self.direct.p99


Call = Callable[[], Awaitable[Any]]


async def _paired(ours: Call, direct: Call, count: int, warmup: int) -> Paired:
    for _ in range(warmup):
        await ours()
        await direct()
    gc.collect()
    ours_ms: list[float] = []
    direct_ms: list[float] = []
    clock = time.perf_counter
    for n in range(count):
        # Alternate which side goes first, so neither always runs on a warmer cache.
        first, second, a, b = (
            (ours, direct, ours_ms, direct_ms) if n % 2 == 0 else (direct, ours, direct_ms, ours_ms)
        )
        start = clock()
        await first()
        middle = clock()
        await second()
        end = clock()
        a.append((middle - start) * 1000)
        b.append((end - middle) * 1000)
    return Paired(summarize(ours_ms), summarize(direct_ms))


def _calls(
    rig: InProcessRig, body: dict[str, Any], headers: dict[str, str], payload: bytes
) -> tuple[Call, Call]:
    async def ours() -> None:
        response = await rig.ours.post(CHAT, json=body, headers=rig.auth_header)
        if response.status_code != 200:
            raise RuntimeError(f"proxy answered {response.status_code}: {response.text[:200]}")

    async def direct() -> None:
        async with rig.direct.stream("POST", RESPONSES, headers=headers, content=payload) as r:
            await r.aread()
            if r.status_code != 200:
                raise RuntimeError(f"emulator answered {r.status_code}")

    return ours, direct


async def measure_nonstreaming(rig: InProcessRig, count: int, warmup: int) -> Paired:
    """Measurement 1: a non-streaming chat completion, whole answer read, ms."""
    body = chat_body(stream=False)
    headers, payload = await rig.direct_request(body)
    ours, direct = _calls(rig, body, headers, payload)
    return await _paired(ours, direct, count, warmup)


async def measure_ttft(rig: InProcessRig, count: int, warmup: int) -> Paired:
    """Measurement 2a: time to the first text chunk of a streamed completion, ms."""
    body = chat_body(stream=True)
    headers, payload = await rig.direct_request(body)
    timings: dict[str, float] = {}

    async def ours() -> None:
        start = time.perf_counter()
        async with rig.ours.stream("POST", CHAT, json=body, headers=rig.auth_header) as r:
            async for chunk in r.aiter_raw():
                if "t" not in timings and _FIRST_TEXT.search(chunk):
                    timings["t"] = time.perf_counter() - start
        ttft.append(timings.pop("t") * 1000)

    async def direct() -> None:
        start = time.perf_counter()
        async with rig.direct.stream("POST", RESPONSES, headers=headers, content=payload) as r:
            async for chunk in r.aiter_raw():
                if "t" not in timings and _FIRST_DELTA in chunk:
                    timings["t"] = time.perf_counter() - start
        ttft.append(timings.pop("t") * 1000)

    ttft: list[float] = []
    for _ in range(warmup):
        await ours()
        await direct()
    ttft.clear()
    ours_ms: list[float] = []
    direct_ms: list[float] = []
    for _ in range(count):
        await ours()
        ours_ms.append(ttft.pop())
        await direct()
        direct_ms.append(ttft.pop())
    return Paired(summarize(ours_ms), summarize(direct_ms))


@dataclass(frozen=True, slots=True)
class ScalePoint:
    """One conversation shape: latencies (ms) and peak traced memory per request (KiB)."""

    label: str
    latency: Paired
    ours_kib: float
    direct_kib: float


async def _peak_kib(call: Call) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        await call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024


async def measure_scaling(
    rig: InProcessRig, shapes: list[tuple[str, int, int]], count: int, warmup: int
) -> list[ScalePoint]:
    """Measurement 6: added latency and memory per non-streaming request as the conversation
    (messages) and the tool list grow. `shapes`: (label, messages, tools)."""
    points: list[ScalePoint] = []
    for label, messages, tools in shapes:
        body = chat_body(stream=False, messages=messages, tools=tools)
        headers, payload = await rig.direct_request(body)
        ours, direct = _calls(rig, body, headers, payload)
        latency = await _paired(ours, direct, count, warmup)
        points.append(ScalePoint(label, latency, await _peak_kib(ours), await _peak_kib(direct)))
    return points
