"""The stream load generator: thousands of long streamed answers held open from one process,
on raw asyncio sockets (an httpx client per stream costs too much to hold thousands).

`python -m bench.streams < spec.json` prints a JSON report. A spec is
`{"host", "port", "path", "headers", "body", "streams", "ramp", "expect", "timeout"}`: open
`streams` connections spread over `ramp` seconds, each sending one POST (`Connection: close`)
and reading the answer to its end. A stream counts as complete when its status is 200 and the
`expect` text (the answer's last event) arrived before the server closed it. Every text delta
stamped by the emulator (`T<send time> `, see `emulator.codex.knobs.stamp_events`) gives one
delay sample: arrival time minus the stamp.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, cast

__all__ = ["StreamReport", "raise_open_file_limit", "run_streams"]

_STAMP = re.compile(rb"T(\d{10}\.\d{6}) ")
_KEEP = 64  # bytes kept between reads: a stamp or the end marker cut across two reads


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass
class StreamReport:
    """What the streams saw: completed and failed counts, delay samples (ms), peak open."""

    streams: int = 0
    completed: int = 0
    errors: int = 0
    events: int = 0
    peak_open: int = 0
    seconds: float = 0.0
    delays_ms: array[float] = field(default_factory=lambda: array("d"))
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.delays_ms)

        def pick(q: float) -> float | None:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None

        return {
            "streams": self.streams,
            "completed": self.completed,
            "errors": self.errors,
            "events": self.events,
            "peak_open": self.peak_open,
            "seconds": self.seconds,
            "delay_p50_ms": pick(0.5),
            "delay_p99_ms": pick(0.99),
            "failures": self.failures[:5],
        }


class _Stream(asyncio.Protocol):
    """One connection, one request, read to the server's close."""

    def __init__(self, request: bytes, expect: bytes, report: StreamReport) -> None:
        self._request = request
        self._expect = expect
        self._report = report
        self._head = b""
        self._status = 0
        self._tail = b""
        self._seen_end = False
        self.closed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self._request)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self._status:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            line = self._head.split(b"\r\n", 1)[0].split()
            self._status = int(line[1]) if len(line) > 1 and line[1].isdigit() else -1
            data, self._head = self._head[end + 4 :], b""
        buffer = self._tail + data
        last = 0
        delays, report = self._report.delays_ms, self._report
        for match in _STAMP.finditer(buffer):
            delays.append((now - float(match.group(1))) * 1000)
            report.events += 1
            last = match.end()
        if not self._seen_end and self._expect in buffer:
            self._seen_end = True
        self._tail = buffer[max(last, len(buffer) - _KEEP) :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(self._status == 200 and self._seen_end)

    def describe(self) -> str:
        return f"status {self._status}, end seen {self._seen_end}"


def _request(spec: dict[str, Any]) -> bytes:
    body = json.dumps(spec["body"], separators=(",", ":")).encode()
    headers = {
        **spec["headers"],
        "host": f"{spec['host']}:{spec['port']}",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "connection": "close",
    }
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = f"POST {spec['path']} HTTP/1.1\r\n{lines}"
    return head.encode("latin-1") + b"\r\n" + body


async def run_streams(spec: dict[str, Any]) -> StreamReport:
    """Open the streams of `spec` and wait for all to end (or its `timeout`)."""
    loop = asyncio.get_running_loop()
    request, expect = _request(spec), spec["expect"].encode()
    count, ramp = int(spec["streams"]), float(spec.get("ramp", 0.0))
    report = StreamReport(streams=count)
    open_now = 0

    async def one(delay: float) -> None:
        nonlocal open_now
        await asyncio.sleep(delay)
        stream = _Stream(request, expect, report)
        try:
            transport, _ = await loop.create_connection(lambda: stream, spec["host"], spec["port"])
        except OSError as exc:
            report.errors += 1
            report.failures.append(f"connect: {exc}")
            return
        open_now += 1
        report.peak_open = max(report.peak_open, open_now)
        try:
            ok = await asyncio.wait_for(asyncio.shield(stream.closed), float(spec["timeout"]))
        except TimeoutError:
            ok = False
            transport.abort()
        open_now -= 1
        if ok:
            report.completed += 1
        else:
            report.errors += 1
            report.failures.append(stream.describe())

    started = time.perf_counter()
    await asyncio.gather(*(one(ramp * n / count) for n in range(count)))
    report.seconds = time.perf_counter() - started
    return report


if __name__ == "__main__":
    raise_open_file_limit()
    result = asyncio.run(run_streams(json.load(sys.stdin)))
    print(json.dumps(result.summary()))
