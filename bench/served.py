"""Measurement 3 and the ChatMock peer: servers on loopback under load.

Started here, each in its own process: the emulator (uvicorn, 1 worker), our app mounted on a
bare host app with the emulator as its upstream (uvicorn, 1 and 2 workers), and ChatMock
pointed at the same emulator. The direct baseline is the same Responses request our app sends
upstream, sent straight to the emulator with the same user's access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from .loadgen import LoadResult, run_load
from .processes import (
    ROOT,
    Server,
    bench_env,
    direct_tokens,
    free_port,
    settle,
    sign_in_app,
    start_emulator,
    start_server,
    start_uvicorn,
    upstream_request,
    uvicorn_http,
    uvicorn_loop,
)
from .rig import MODEL

__all__ = [
    "METERED",
    "PROMPT",
    "RELAY",
    "AlternatingResult",
    "MemoryResult",
    "ServedResults",
    "alternate",
    "chatmock_installed",
    "run_served",
    "served_settings",
]

METERED = "authai 1w metered"
"""The 1-worker app with the usage ledger and a quota on (the others have both off)."""
RELAY = "bare relay"
"""`bench.relay_floor` on one worker: a proxy with nothing of ours in it (the floor)."""
PROMPT = "Tell me, in a sentence or two, what a benchmark of a streaming proxy should measure."
"""The user's message of the served measurements' completion (and `--instructions`')."""


def chatmock_installed() -> bool:
    return importlib.util.find_spec("chatmock") is not None


def served_settings() -> str:
    """The settings every served process shares, as the report states them."""
    gc = "CPython's defaults" if os.environ.get("AUTHAI_BENCH_GC") == "default" else "tuned"
    return f"uvicorn loop {uvicorn_loop()}, http {uvicorn_http()}, collector {gc}"


def _write_chatmock_auth(home: Path, access: str, refresh: str, account_id: str) -> None:
    auth = {
        "tokens": {"access_token": access, "refresh_token": refresh, "account_id": account_id},
        "last_refresh": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (home / "auth.json").write_text(json.dumps(auth))


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send load and what a complete answer contains."""

    name: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    expect: str

    def spec(self, concurrency: int, duration: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "headers": self.headers,
            "body": self.body,
            "concurrency": concurrency,
            "duration": duration,
            "expect": self.expect,
        }

    def check(self) -> None:
        """One request, read to the end: a wrong setup fails here, not as a fast error rate."""
        with httpx.Client(headers=self.headers, timeout=30) as client:
            self.fetch(client, json.dumps(self.body).encode())

    def fetch(self, client: httpx.Client, content: bytes) -> None:
        """POST `content` (the encoded body) with `client` and read the whole answer; raise
        unless it is a 200 holding `expect`."""
        with client.stream("POST", self.url, content=content) as response:
            data = response.read()
        if response.status_code != 200 or self.expect.encode() not in data:
            raise RuntimeError(f"{self.name}: {response.status_code} {data[:300]!r}")


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """RSS growth of the serving process with `streams` streams open, KiB per stream."""

    streams: int
    ours_kib: float | None
    direct_kib: float | None


@dataclass(frozen=True, slots=True)
class AlternatingResult:
    """`pairs` requests to each of two servers, one at a time and in turn, on one keep-alive
    connection each: both sides' p50 (ms) and the median of the per-pair differences."""

    pairs: int
    mine_p50_ms: float
    base_p50_ms: float
    added_ms: float


def alternate(mine: Target, base: Target, pairs: int) -> AlternatingResult:
    """Time `pairs` whole streamed answers from each target, taking turns request by request
    (which one goes first alternates too), so that a slow spell of the machine lands on both
    sides of a pair: a difference of a tenth of a millisecond shows through drift that moves
    4-second load rounds by several tenths."""
    warm = 20  # pairs first sent to warm both connections, not timed
    times: tuple[list[float], list[float]] = ([], [])
    with (
        httpx.Client(headers=mine.headers, timeout=30) as mine_client,
        httpx.Client(headers=base.headers, timeout=30) as base_client,
    ):
        sides = [
            (mine, mine_client, json.dumps(mine.body).encode(), times[0]),
            (base, base_client, json.dumps(base.body).encode(), times[1]),
        ]
        for index in range(warm + pairs):
            for target, client, content, taken in sides if index % 2 else sides[::-1]:
                start = time.perf_counter()
                target.fetch(client, content)
                if index >= warm:
                    taken.append((time.perf_counter() - start) * 1000)
    middle = pairs // 2
    differences = sorted(m - b for m, b in zip(*times, strict=True))
    return AlternatingResult(
        pairs, sorted(times[0])[middle], sorted(times[1])[middle], differences[middle]
    )


@dataclass
class ServedResults:
    """Load results by target name and concurrency, and the memory measurement."""

    loads: dict[str, dict[int, LoadResult]] = field(default_factory=dict)
    cpu_us: dict[str, dict[int, float]] = field(default_factory=dict)
    """CPU time per completed request of the target's own serving process(es), µs."""
    rounds: dict[str, dict[int, list[LoadResult]]] = field(default_factory=dict)
    """Every round, in order: round k of every target ran within the same minute."""

    def paired(
        self, name: str, base: str, concurrency: int, key: Callable[[LoadResult, LoadResult], float]
    ) -> tuple[LoadResult, LoadResult]:
        """`name`'s and `base`'s results from the round with the median `key(name's, base's)`:
        a comparison made within one round, seconds apart, so that the machine's drift between
        rounds does not enter it."""
        mine, theirs = self.rounds[name][concurrency], self.rounds[base][concurrency]
        pairs = list(zip(mine, theirs, strict=True))
        pairs.sort(key=lambda pair: key(*pair))
        return pairs[len(pairs) // 2]

    memory: MemoryResult | None = None
    chatmock: str = "not installed"
    alternating: AlternatingResult | None = None
    """The metered worker against the plain one, one request each in turn (c=1)."""


def _memory_per_stream(
    server: Server, target: Target, streams: int, emulator: Server
) -> float | None:
    """Open `streams` slow streams at once against `server` and read the RSS growth per stream;
    None when the streams did not all complete (the figure would mean nothing)."""
    httpx.post(f"{emulator.url}/bench/knobs", json={"event_delay": 0.1}, timeout=120)
    try:
        before = server.rss_kib()
        load = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=bench_env({}),
            cwd=ROOT,
        )
        assert load.stdin is not None
        assert load.stdout is not None
        load.stdin.write(json.dumps(target.spec(streams, 0.5)).encode())
        load.stdin.close()
        peak = before
        while load.poll() is None:
            peak = max(peak, server.rss_kib())
            time.sleep(0.02)
        report = json.loads(load.stdout.read() or b"{}")
    finally:
        httpx.post(f"{emulator.url}/bench/knobs", json={"event_delay": 0.0}, timeout=120)
    done = len(report.get("latencies", []))
    if done < streams or report.get("errors"):
        print(f"  memory: {done}/{streams} streams completed, {report}", file=sys.stderr)
        return None
    return (peak - before) / streams


@contextlib.contextmanager
def _servers(tmp: Path, with_chatmock: bool) -> Iterator[dict[str, Server]]:
    running: dict[str, Server] = {}
    try:
        running["emulator"] = start_emulator()
        issuer = running["emulator"].url
        for workers in (1, 2):
            env = {
                "AUTHAI_BENCH_ISSUER": issuer,
                "AUTHAI_BENCH_DB": str(tmp / f"authai-{workers}w.db"),
                "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
                "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
            }
            name = f"authai {workers}w"
            running[name] = start_uvicorn(name, "bench.servers:authai_app", env, workers)
        env = {  # the usage ledger and a quota on, 1 worker: against "authai 1w"
            "AUTHAI_BENCH_ISSUER": issuer,
            "AUTHAI_BENCH_DB": str(tmp / "authai-metered.db"),
            "AUTHAI_BENCH_METERED": "1",
            "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
            "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
        }
        running[METERED] = start_uvicorn(METERED, "bench.servers:authai_app", env, 1)
        target = {"AUTHAI_BENCH_RELAY_TARGET": f"{issuer}/backend-api/codex/responses"}
        running[RELAY] = start_uvicorn(RELAY, "bench.relay_floor:relay_app", target, 1)
        if with_chatmock:
            home = tmp / "chatmock"
            home.mkdir()
            port = free_port()
            running["chatmock"] = start_server(
                "chatmock",
                [sys.executable, "-m", "bench.chatmock_server", str(port)],
                {
                    "AUTHAI_BENCH_ISSUER": issuer,
                    "CHATGPT_LOCAL_HOME": str(home),
                    "CHATGPT_LOCAL_ISSUER": issuer,
                },
                port,
                1,
            )
        yield running
    finally:
        for server in running.values():
            server.stop()


def _targets(running: dict[str, Server], tmp: Path) -> dict[str, Target]:
    emulator = running["emulator"]
    chat = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    targets: dict[str, Target] = {}
    for name in ("authai 1w", "authai 2w", METERED):
        app = running[name]
        jwt = sign_in_app(app, emulator)
        targets[name] = Target(
            name,
            f"{app.url}/authai/v1/chat/completions",
            {"authorization": f"Bearer {jwt}", "content-type": "application/json"},
            chat,
            "[DONE]",
        )
        targets[name].check()
    headers, body = upstream_request(emulator)
    targets["direct"] = Target(
        "direct",
        f"{emulator.url}/backend-api/codex/responses",
        headers,
        body,
        "response.completed",
    )
    targets["direct"].check()
    targets[RELAY] = replace(targets["direct"], name=RELAY, url=f"{running[RELAY].url}/relay")
    targets[RELAY].check()
    if "chatmock" in running:
        access, refresh, account_id = asyncio.run(direct_tokens(emulator))
        _write_chatmock_auth(tmp / "chatmock", access, refresh, account_id)
        targets["chatmock"] = Target(
            "chatmock",
            f"{running['chatmock'].url}/v1/chat/completions",
            {"content-type": "application/json"},
            chat,
            "[DONE]",
        )
        targets["chatmock"].check()
    return targets


def run_served(
    concurrencies: list[int],
    duration: float,
    memory_streams: int,
    *,
    with_chatmock: bool,
    rounds: int = 1,
    alternating_pairs: int = 0,
) -> ServedResults:
    """Run the load matrix and the memory measurement; servers are stopped afterwards.

    At each concurrency every target runs `rounds` times for `duration / rounds` seconds, the
    targets taking turns, and the round with the median requests per second is kept: on a
    shared machine the speed drifts by tens of percent within a minute. Then, with
    `alternating_pairs`, the metered worker and the plain one answer that many requests each,
    in turn (`alternate`)."""
    results = ServedResults(chatmock="measured" if with_chatmock else "not installed")
    with tempfile.TemporaryDirectory(prefix="authai-bench-") as name:
        tmp = Path(name)
        with _servers(tmp, with_chatmock) as running:
            targets = _targets(running, tmp)
            emulator = running["emulator"]
            for target in targets.values():  # warm every path once under light load
                run_load(target.spec(4, 1), use_wrk=False)
            # Memory first, while no process has been grown by the load runs.
            results.memory = MemoryResult(
                memory_streams,
                _memory_per_stream(
                    running["authai 1w"], targets["authai 1w"], memory_streams, emulator
                ),
                _memory_per_stream(emulator, targets["direct"], memory_streams, emulator),
            )
            for concurrency in concurrencies:
                runs: dict[str, list[tuple[LoadResult, float | None]]] = {}
                for _ in range(rounds):  # interleaved: a slow spell of the machine hits all
                    for tname, target in targets.items():
                        server = running["emulator" if tname == "direct" else tname]
                        before = server.cpu_seconds()
                        result = run_load(target.spec(concurrency, duration / rounds))
                        used = server.cpu_seconds() - before
                        cpu = used / result.requests * 1e6 if result.requests else None
                        runs.setdefault(tname, []).append((result, cpu))
                        print(
                            f"  {tname} c={concurrency}: {result.rps:.0f}/s"
                            f" p50 {result.p50_ms:.1f} ms errors {result.errors}",
                            file=sys.stderr,
                        )
                        settle(emulator)
                for tname, measured in runs.items():
                    results.rounds.setdefault(tname, {})[concurrency] = [m[0] for m in measured]
                    result, cpu = sorted(measured, key=lambda m: m[0].rps)[len(measured) // 2]
                    results.loads.setdefault(tname, {})[concurrency] = result
                    if cpu is not None:
                        results.cpu_us.setdefault(tname, {})[concurrency] = cpu
            if alternating_pairs:
                results.alternating = alternate(
                    targets[METERED], targets["authai 1w"], alternating_pairs
                )
                settle(emulator)
    return results
