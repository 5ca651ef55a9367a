"""A lean load generator for the fairness runs: `python -m bench.fair_load < spec.json`.

Raw HTTP/1.1 on asyncio streams, keep-alive, one prebuilt request per connection: at c=64 the
httpx load process costs more CPU than the servers it measures (it was the bottleneck of its
own runs on two cores), which hides the servers' latencies behind its own. Takes the spec of
`bench.loadgen` (`url`, `headers`, `body`, `concurrency`, `duration`, `expect`) and prints the
same JSON (`latencies` in ms, `errors`, `seconds`).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["load"]


def _request(spec: dict[str, Any]) -> tuple[str, int, bytes]:
    url = urlsplit(spec["url"])
    body = json.dumps(spec["body"], separators=(",", ":")).encode()
    headers = {**spec["headers"], "content-type": "application/json"}
    lines = [f"POST {url.path or '/'} HTTP/1.1", f"host: {url.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    lines.append(f"content-length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return url.hostname or "127.0.0.1", url.port or 80, head + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, expect: bytes
) -> bool:
    """One request and its whole answer; True when it is a 200 containing `expect`."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        body = await reader.readuntil(b"\r\n0\r\n\r\n")
    else:
        length = 0
        for line in lowered.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length)
    return status == 200 and expect in body


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run `spec`: `concurrency` connections sending back to back until `duration` is over."""
    host, port, request = _request(spec)
    expect = spec["expect"].encode()
    deadline = time.perf_counter() + float(spec["duration"])
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    ok = await _exchange(reader, writer, request, expect)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
                    continue
                if ok:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(int(spec["concurrency"]))))
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(load(json.load(sys.stdin)))))
