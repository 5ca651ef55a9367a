"""The load generators: `wrk` when it is installed, else an asyncio httpx client in its own
process (`python -m bench.loadgen < spec.json`). Both keep connections alive, send the same
POST, and report requests, errors and latency percentiles.

A spec is `{"url", "headers", "body", "concurrency", "duration", "expect"}`; `expect` is text
every complete answer contains (the httpx client checks it; wrk only checks the status).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .stats import percentile

__all__ = ["LoadResult", "run_load", "wrk_available"]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One load run: completed requests, failed ones, wall time, latency p50/p99 in ms."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_rate(self) -> float:
        total = self.requests + self.errors
        return self.errors / total if total else 1.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    if "]==]" in text:
        raise ValueError("the request cannot contain ]==]")
    return "[==[" + text + "]==]"


def _wrk(spec: dict[str, Any]) -> LoadResult:
    headers = "\n".join(
        f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in spec["headers"].items()
    )
    body = json.dumps(spec["body"], separators=(",", ":"))
    if "]==]" in body:
        raise ValueError("the request body cannot contain ]==]")
    concurrency = int(spec["concurrency"])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA.format(body=body, headers=headers))
    try:
        threads = min(2, concurrency)
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(float(spec['duration'])))}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                spec["url"],
            ],
            capture_output=True,
            text=True,
            timeout=float(spec["duration"]) + 60,
            check=False,
        )
    finally:
        Path(script.name).unlink()
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            data = json.loads(line[8:])
            return LoadResult(
                requests=max(0, data["requests"] - data["errors"]),
                errors=data["errors"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                tool="wrk",
            )
    raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")


async def _httpx_load(spec: dict[str, Any]) -> dict[str, Any]:
    concurrency = int(spec["concurrency"])
    deadline = time.perf_counter() + float(spec["duration"])
    expect = spec["expect"].encode()
    body = json.dumps(spec["body"], separators=(",", ":")).encode()
    headers = {**spec["headers"], "content-type": "application/json"}
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    async with client.stream(
                        "POST", spec["url"], headers=headers, content=body
                    ) as r:
                        data = b"".join([chunk async for chunk in r.aiter_raw()])
                    ok = r.status_code == 200 and expect in data
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "seconds": seconds}


def run_load(spec: dict[str, Any], *, use_wrk: bool | None = None) -> LoadResult:
    """Run one load (wrk if available and not declined, else the httpx client process)."""
    if use_wrk if use_wrk is not None else wrk_available():
        return _wrk(spec)
    out = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=float(spec["duration"]) + 120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the load generator failed: {out.stderr[-800:]}")
    data = json.loads(out.stdout)
    latencies = data["latencies"] or [0.0]
    return LoadResult(
        requests=len(data["latencies"]),
        errors=data["errors"],
        seconds=data["seconds"],
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        tool="httpx",
    )


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_httpx_load(json.load(sys.stdin)))))
