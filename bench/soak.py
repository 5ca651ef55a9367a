"""`--soak`: mixed traffic against one worker for minutes, then whether anything stayed behind.

Sign-ins (the whole device flow), plain and streamed calls, clients that leave mid-stream, and
short-lived access tokens (each signed-in user is refreshed every `refresh_every` seconds),
from a few concurrent clients in this process. Our worker's RSS, open file descriptors and
asyncio tasks are sampled throughout; the baseline of descriptors and tasks is taken after one
round of every kind of request, with no client connected, and compared with the same reading
after the traffic stops.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .processes import Server
from .report import Row, Target
from .scale import Pacing, serve_pair

__all__ = ["SoakResult", "run_soak", "soak_rows"]

PACING = Pacing(ttft=0.05, rate=200.0, events=60)
MIX = ("stream", "plain", "stream", "leave", "plain", "stream", "leave", "sign_in")
CLIENTS = 8
USERS = 8
RSS_TARGET_KIB = 1024.0


@dataclass
class SoakResult:
    """What the soak measured. RSS in KiB; counts at the baseline and at the end."""

    seconds: float
    warmup: float
    requests: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    refreshes: int = 0
    rss_after_warmup: float = 0.0
    rss_end: float = 0.0
    fds_baseline: int = 0
    fds_end: int = 0
    tasks_baseline: int = 0
    tasks_end: int = 0

    @property
    def rss_growth_kib(self) -> float:
        return self.rss_end - self.rss_after_warmup

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "requests": self.requests,
            "unexpected": self.unexpected[:5],
            "unexpected_count": len(self.unexpected),
            "refreshes": self.refreshes,
            "rss_growth_kib": self.rss_growth_kib,
            "fds": [self.fds_baseline, self.fds_end],
            "tasks": [self.tasks_baseline, self.tasks_end],
        }


def _fds(server: Server) -> int:
    return len(os.listdir(f"/proc/{server.pids()[-1]}/fd"))


def _tasks(app: Server) -> int:
    with httpx.Client() as client:  # closed before the next reading of descriptors
        tasks: int = client.get(f"{app.url}/bench/tasks", timeout=30).json()["tasks"]
    return tasks


class _Traffic:
    """The clients' side: a pool of signed-in users and one action per request."""

    def __init__(self, http: httpx.AsyncClient, app: Server, emulator: Server) -> None:
        self.http, self.app, self.emulator = http, app, emulator
        self.users: list[str] = []
        self.turn = itertools.count()
        self.result: dict[str, int] = {}
        self.unexpected: list[str] = []

    def _user(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.users[next(self.turn) % len(self.users)]}"}

    async def sign_in(self) -> None:
        """A sign-in; the first `USERS` each with an account of their own (one account's new
        sign-in replaces its earlier one), kept for the calls so their tokens age."""
        keep = len(self.users) < USERS
        account = f"bench-{len(self.users)}" if keep else ""
        started = (
            await self.http.post(f"{self.app.url}/authai/auth/start", json={"provider": "openai"})
        ).json()
        approved = await self.http.post(
            f"{self.emulator.url}/codex/device",
            data={"user_code": started["userCode"], "action": "approve", "account": account},
        )
        approved.raise_for_status()
        polled = (
            await self.http.get(f"{self.app.url}/authai/auth/poll/{started['sessionId']}")
        ).json()
        if polled.get("status") != "complete":
            raise RuntimeError(f"sign-in: {polled.get('status')}")
        if keep:
            self.users.append(str(polled["jwt"]))

    async def call(self, kind: str) -> None:
        url = f"{self.app.url}/authai/v1/chat/completions"
        messages = [{"role": "user", "content": "Hi"}]
        body: dict[str, Any] = {"model": "gpt-5.4", "messages": messages, "stream": kind != "plain"}
        async with self.http.stream("POST", url, json=body, headers=self._user()) as response:
            if response.status_code != 200:
                await response.aread()
                raise RuntimeError(f"{kind}: {response.status_code} {response.text[:200]}")
            if kind == "leave":  # the client goes away after its first events
                async for _ in response.aiter_raw():
                    break
                return
            data = await response.aread()
        end = b"[DONE]" if kind == "stream" else b'"finish_reason":"stop"'
        if end not in data:
            raise RuntimeError(f"{kind}: the answer did not end: {data[-200:]!r}")

    async def one(self, kind: str) -> None:
        try:
            await (self.sign_in() if kind == "sign_in" else self.call(kind))
            self.result[kind] = self.result.get(kind, 0) + 1
        except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
            self.unexpected.append(f"{kind}: {type(exc).__name__}: {exc}")

    async def run(self, until: float, offset: int) -> None:
        for kind in itertools.islice(itertools.cycle(MIX), offset, None):
            if time.monotonic() >= until:
                return
            await self.one(kind)


async def _phase(app: Server, emulator: Server, users: list[str], seconds: float) -> _Traffic:
    async with httpx.AsyncClient(timeout=60) as http:
        traffic = _Traffic(http, app, emulator)
        traffic.users = users
        while len(traffic.users) < USERS:
            await traffic.sign_in()
        if seconds <= 0:  # one round of every kind
            for kind in dict.fromkeys(MIX):
                await traffic.one(kind)
            return traffic
        until = time.monotonic() + seconds
        await asyncio.gather(*(traffic.run(until, n) for n in range(CLIENTS)))
    return traffic


def _settled(app: Server, fds: int, tasks: int, limit: float = 20.0) -> tuple[int, int]:
    """Descriptors and tasks once they are back at (or below) the baseline, or after `limit`
    seconds (closed connections take a moment to be noticed)."""
    deadline = time.monotonic() + limit
    now_fds, now_tasks = _fds(app), _tasks(app)
    while (now_fds > fds or now_tasks > tasks) and time.monotonic() < deadline:
        time.sleep(0.25)
        now_fds, now_tasks = _fds(app), _tasks(app)
    return now_fds, now_tasks


def run_soak(
    seconds: float, *, refresh_every: float = 60.0, sample_every: float = 1.0
) -> SoakResult:
    """Soak one worker for `seconds`; the first fifth (at most 60 s) is warm-up."""
    warmup = min(60.0, seconds / 5)
    result = SoakResult(seconds, warmup)
    env = {
        "AUTHAI_BENCH_ACCESS_TTL": str(max(2, round(2 * refresh_every))),
        "AUTHAI_BENCH_ACCOUNTS": str(USERS),
    }
    with (
        tempfile.TemporaryDirectory(prefix="authai-soak-") as name,
        serve_pair(Path(name), env, "bench.servers:authai_soak_app") as (emulator, app),
    ):
        httpx.post(f"{emulator.url}/bench/knobs", json=PACING.knobs(), timeout=60)
        first = asyncio.run(_phase(app, emulator, [], 0))
        result.unexpected += first.unexpected
        time.sleep(1.0)
        result.fds_baseline, result.tasks_baseline = _fds(app), _tasks(app)
        samples: list[tuple[float, int]] = []
        started = time.monotonic()

        async def sample() -> None:
            while True:
                samples.append((time.monotonic() - started, app.rss_kib()))
                await asyncio.sleep(sample_every)

        async def soak() -> _Traffic:
            sampler = asyncio.create_task(sample())
            try:
                return await _phase(app, emulator, first.users, seconds)
            finally:
                sampler.cancel()

        traffic = asyncio.run(soak())
        result.requests = traffic.result
        result.unexpected += traffic.unexpected
        result.refreshes = int(
            httpx.post(f"{emulator.url}/bench/reset", timeout=60).json()["refreshes"]
        )
        window = [rss for t, rss in samples if t >= warmup]
        tenth = max(1, len(window) // 10)
        result.rss_after_warmup = statistics.median(window[:tenth])
        result.rss_end = statistics.median(window[-tenth:])
        result.fds_end, result.tasks_end = _settled(app, result.fds_baseline, result.tasks_baseline)
    print(f"  soak: {result.summary()}", file=sys.stderr)
    return result


def soak_rows(result: SoakResult) -> list[Row]:
    """The `--soak` table."""
    sec = f"8 soak ({result.seconds:.0f} s mixed traffic, 1 worker)"
    window = result.seconds - result.warmup
    per_ten = result.rss_growth_kib * 600 / window if window >= 600 else result.rss_growth_kib
    total = sum(result.requests.values())
    mix = ", ".join(f"{k} {v}" for k, v in sorted(result.requests.items()))
    return [
        Row(
            sec,
            "unexpected errors",
            float(len(result.unexpected)),
            "",
            target=Target("==", 0.0),
            note=f"{total:,} requests: {mix}; {result.refreshes} refreshes"
            + (f"; first: {result.unexpected[0]}" if result.unexpected else ""),
        ),
        Row(
            sec,
            "RSS growth after warm-up" + (", per 10 minutes" if window >= 600 else ""),
            per_ten,
            "KiB",
            target=Target("<=", RSS_TARGET_KIB),
            note=f"median of the last tenth - of the first tenth of {window:.0f} s after "
            f"{result.warmup:.0f} s warm-up",
        ),
        Row(
            sec,
            "open file descriptors at the end",
            float(result.fds_end),
            "",
            float(result.fds_baseline),
            Target("added<=", 0.0),
            "direct = the baseline",
        ),
        Row(
            sec,
            "asyncio tasks at the end",
            float(result.tasks_end),
            "",
            float(result.tasks_baseline),
            Target("added<=", 0.0),
            "direct = the baseline",
        ),
    ]


if __name__ == "__main__":
    import json

    print(json.dumps(run_soak(float(sys.argv[1]), refresh_every=float(sys.argv[2])).summary()))
