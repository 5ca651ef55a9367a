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
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from authai_embed._util.clock import SystemClock
from authai_embed.providers.openai.signin import OpenAIProvider
from authai_embed.settings import Settings

from .loadgen import LoadResult, run_load
from .rig import MODEL

__all__ = [
    "METERED",
    "RELAY",
    "AlternatingResult",
    "MemoryResult",
    "ServedResults",
    "alternate",
    "chatmock_installed",
    "run_served",
    "served_settings",
    "uvicorn_options",
]

ROOT = Path(__file__).resolve().parent.parent
METERED = "authai 1w metered"
"""The 1-worker app with the usage ledger and a quota on (the others have both off)."""
RELAY = "bare relay"
"""`bench.relay_floor` on one worker: a proxy with nothing of ours in it (the floor)."""
PROMPT = "Tell me, in a sentence or two, what a benchmark of a streaming proxy should measure."


def chatmock_installed() -> bool:
    return importlib.util.find_spec("chatmock") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uvicorn_loop() -> str:
    """The event loop every served process runs on: asyncio's own unless `AUTHAI_BENCH_LOOP`
    names another (`uvloop`). Named on every command line, so that the emulator and our app
    never differ in it, whatever happens to be installed (uvicorn's `auto` picks uvloop when
    it is)."""
    return os.environ.get("AUTHAI_BENCH_LOOP") or "asyncio"


def uvicorn_http() -> str:
    """The HTTP/1.1 parser of every served process: httptools when installed, else h11."""
    chosen = os.environ.get("AUTHAI_BENCH_HTTP")
    if chosen:
        return chosen
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def uvicorn_options() -> list[str]:
    """The uvicorn options every served process (the emulator's and ours) is started with: the
    same loop and parser on both sides, no access log, warnings only."""
    return [
        "--loop",
        uvicorn_loop(),
        "--http",
        uvicorn_http(),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def served_settings() -> str:
    """The settings every served process shares, as the report states them."""
    gc = "CPython's defaults" if os.environ.get("AUTHAI_BENCH_GC") == "default" else "tuned"
    return f"uvicorn loop {uvicorn_loop()}, http {uvicorn_http()}, collector {gc}"


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.update(extra)
    return env


@dataclass
class Server:
    """One server process on 127.0.0.1."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The process and its children (uvicorn's workers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        kids = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [self.process.pid, *kids]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the process and its workers."""
        total = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory of the serving process (the worker when there is one), KiB."""
        pid = self.pids()[-1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {pid}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(name: str, args: list[str], env: dict[str, str], port: int, workers: int) -> Server:
    # The server's stderr goes to a file, never to an unread pipe: a server that logs a lot
    # (asyncio warns on every write to a connection the load tool dropped) would fill the
    # pipe and stop, mid-run, blocked on its own log line.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(args, env=_env(env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    server = Server(name, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise RuntimeError(f"{name} exited: {err[-800:]}")
        try:
            httpx.get(f"{server.url}/", timeout=1)
            if workers < 2 or len(server.pids()) > workers:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not start in time")


def _uvicorn(name: str, factory: str, env: dict[str, str], workers: int = 1) -> Server:
    port = _free_port()
    args = [
        sys.executable,
        "-m",
        "bench.uvicorn_nodelay",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *uvicorn_options(),
    ]
    return _start(name, args, env, port, workers)


def _approve(emulator: Server, user_code: str) -> None:
    response = httpx.post(
        f"{emulator.url}/codex/device", data={"user_code": user_code, "action": "approve"}
    )
    response.raise_for_status()


def _sign_in_app(app: Server, emulator: Server) -> str:
    """The browser-side device flow on our served app; returns the JWT."""
    started = httpx.post(f"{app.url}/authai/auth/start", json={"provider": "openai"}).json()
    _approve(emulator, started["userCode"])
    polled = httpx.get(f"{app.url}/authai/auth/poll/{started['sessionId']}").json()
    if polled.get("status") != "complete":
        raise RuntimeError(f"sign-in did not complete: {polled}")
    return str(polled["jwt"])


async def _direct_tokens(emulator: Server) -> tuple[str, str, str]:
    """A Codex CLI style sign-in straight at the emulator: (access, refresh, account id)."""
    settings = Settings.build(openai={"issuer": emulator.url})
    async with httpx.AsyncClient() as http:
        provider = OpenAIProvider(
            settings.openai, http, originator="codex_cli_rs", clock=SystemClock()
        )
        start = await provider.start_device_login()
        _approve(emulator, start.user_code)
        poll = await provider.poll_device_login(start.state)
    creds = poll.credentials
    if creds is None or creds.refresh is None:
        raise RuntimeError(f"direct sign-in failed: {poll.status}")
    return creds.access, creds.refresh, creds.account_id


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
            env=_env({}),
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


def _settle(emulator: Server, limit: float = 30.0) -> None:
    """Wait until the emulator has no stream open (the previous run's stragglers are done, so
    they do not slow the next one), and drop its request log."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            stats = httpx.post(f"{emulator.url}/bench/reset", timeout=limit * 2).json()
        except httpx.HTTPError:
            continue
        if stats.get("open_streams", 0) == 0:
            return
        time.sleep(0.2)


@contextlib.contextmanager
def _servers(tmp: Path, with_chatmock: bool) -> Iterator[dict[str, Server]]:
    running: dict[str, Server] = {}
    try:
        port = _free_port()
        issuer = f"http://127.0.0.1:{port}"
        running["emulator"] = _start(
            "emulator",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "bench.servers:emulator_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *uvicorn_options(),
            ],
            {"AUTHAI_BENCH_ISSUER": issuer},
            port,
            1,
        )
        for workers in (1, 2):
            env = {
                "AUTHAI_BENCH_ISSUER": issuer,
                "AUTHAI_BENCH_DB": str(tmp / f"authai-{workers}w.db"),
                "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
                "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
            }
            name = f"authai {workers}w"
            running[name] = _uvicorn(name, "bench.servers:authai_app", env, workers)
        env = {  # the usage ledger and a quota on, 1 worker: against "authai 1w"
            "AUTHAI_BENCH_ISSUER": issuer,
            "AUTHAI_BENCH_DB": str(tmp / "authai-metered.db"),
            "AUTHAI_BENCH_METERED": "1",
            "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
            "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
        }
        running[METERED] = _uvicorn(METERED, "bench.servers:authai_app", env, 1)
        target = {"AUTHAI_BENCH_RELAY_TARGET": f"{issuer}/backend-api/codex/responses"}
        running[RELAY] = _uvicorn(RELAY, "bench.relay_floor:relay_app", target, 1)
        if with_chatmock:
            home = tmp / "chatmock"
            home.mkdir()
            port = _free_port()
            running["chatmock"] = _start(
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
        jwt = _sign_in_app(app, emulator)
        targets[name] = Target(
            name,
            f"{app.url}/authai/v1/chat/completions",
            {"authorization": f"Bearer {jwt}", "content-type": "application/json"},
            chat,
            "[DONE]",
        )
        targets[name].check()
    access, refresh, account_id = asyncio.run(_direct_tokens(emulator))
    last = httpx.get(f"{emulator.url}/bench/last", timeout=60).json()
    headers = {
        k: v
        for k, v in last["headers"].items()
        if k not in ("host", "content-length", "connection", "transfer-encoding")
    }
    headers["authorization"] = f"Bearer {access}"
    targets["direct"] = Target(
        "direct",
        f"{emulator.url}/backend-api/codex/responses",
        headers,
        last["body"],
        "response.completed",
    )
    targets["direct"].check()
    targets[RELAY] = replace(targets["direct"], name=RELAY, url=f"{running[RELAY].url}/relay")
    targets[RELAY].check()
    if "chatmock" in running:
        access, refresh, account_id = asyncio.run(_direct_tokens(emulator))
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
                        _settle(emulator)
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
                _settle(emulator)
    return results
