"""Measurements 1, 2 and 6: the in-process client against the emulator, ours vs direct.

Every sample pair is taken back to back (ours, then direct) so that machine noise hits both.
"""

from __future__ import annotations

import gc
import json
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
_FIRST_DELTA = re.compile(rb"response\.output_text\.delta")


@dataclass(frozen=True, slots=True)
class Paired:
    """Ours and direct, in milliseconds of this thread's CPU time (everything in-process runs on
    one thread and never waits for I/O, so on an idle machine this is the wall time; on a shared
    one it leaves out the time spent waiting for a core). `wall_*`: the wall-clock figures."""

    ours: Summary
    direct: Summary
    wall_ours: Summary
    wall_direct: Summary

    @property
    def wall_added_p50(self) -> float:
        return self.wall_ours.p50 - self.wall_direct.p50

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
    samples: dict[str, list[float]] = {"ours": [], "direct": [], "wall ours": [], "wall direct": []}
    cpu, wall = time.thread_time, time.perf_counter
    for n in range(count):
        # Alternate which side goes first, so neither always runs on a warmer cache.
        order = (("ours", ours), ("direct", direct))
        for name, call in order if n % 2 == 0 else order[::-1]:
            start_cpu, start_wall = cpu(), wall()
            await call()
            samples[name].append((cpu() - start_cpu) * 1000)
            samples["wall " + name].append((wall() - start_wall) * 1000)
    return Paired(*(summarize(samples[k]) for k in ("ours", "direct", "wall ours", "wall direct")))


def _calls(
    rig: InProcessRig, body: dict[str, Any], headers: dict[str, str], payload: bytes
) -> tuple[Call, Call]:
    content, ours_headers = _encoded(rig, body)

    async def ours() -> None:
        response = await rig.ours.post(CHAT, content=content, headers=ours_headers)
        if response.status_code != 200:
            raise RuntimeError(f"proxy answered {response.status_code}: {response.text[:200]}")

    async def direct() -> None:
        async with rig.direct.stream("POST", RESPONSES, headers=headers, content=payload) as r:
            await r.aread()
            if r.status_code != 200:
                raise RuntimeError(f"emulator answered {r.status_code}")

    return ours, direct


def _encoded(rig: InProcessRig, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Ours' request body and headers, encoded once as the direct side's are (the bytes and
    headers `json=body` would send): the client's JSON encoding is no cost of the proxy."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return content.encode(), {**rig.auth_header, "content-type": "application/json"}


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

    cpu, wall = time.thread_time, time.perf_counter

    async def first_token(path: str, marker: re.Pattern[bytes], **request: Any) -> None:
        start_cpu, start_wall = cpu(), wall()
        async with (
            rig.ours.stream("POST", path, **request)
            if path == CHAT
            else rig.direct.stream("POST", path, **request) as r
        ):
            async for chunk in r.aiter_raw():
                if "cpu" not in timings and marker.search(chunk):
                    timings["cpu"], timings["wall"] = cpu() - start_cpu, wall() - start_wall
        ttft.append((timings.pop("cpu") * 1000, timings.pop("wall") * 1000))

    content, ours_headers = _encoded(rig, body)

    async def ours() -> None:
        await first_token(CHAT, _FIRST_TEXT, content=content, headers=ours_headers)

    async def direct() -> None:
        await first_token(RESPONSES, _FIRST_DELTA, headers=headers, content=payload)

    ttft: list[tuple[float, float]] = []
    for _ in range(warmup):
        await ours()
        await direct()
    ttft.clear()
    got: dict[str, list[tuple[float, float]]] = {"ours": [], "direct": []}
    for n in range(count):
        order = (("ours", ours), ("direct", direct))
        for name, call in order if n % 2 == 0 else order[::-1]:
            await call()
            got[name].append(ttft.pop())
    return Paired(
        summarize([c for c, _ in got["ours"]]),
        summarize([c for c, _ in got["direct"]]),
        summarize([w for _, w in got["ours"]]),
        summarize([w for _, w in got["direct"]]),
    )


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
