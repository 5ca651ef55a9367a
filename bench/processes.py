"""The bench's server processes: starting uvicorn (and other servers) on loopback, reading
their CPU and memory, and signing a user in on the emulator and on our app, shared by the
served, scale, fairness and soak measurements.

Every served process gets the same loop, parser and collector settings (`uvicorn_options`,
`bench.rig.tuned`), so that no side of a comparison runs on other settings.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from authai_embed._util.clock import SystemClock
from authai_embed.providers.openai.signin import OpenAIProvider
from authai_embed.settings import Settings

__all__ = [
    "ROOT",
    "Server",
    "approve",
    "bench_env",
    "direct_tokens",
    "free_port",
    "settle",
    "sign_in_app",
    "start_emulator",
    "start_server",
    "start_uvicorn",
    "upstream_request",
    "uvicorn_command",
    "uvicorn_http",
    "uvicorn_loop",
    "uvicorn_options",
]

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
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


def bench_env(extra: dict[str, str]) -> dict[str, str]:
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
    log: IO[bytes] | None = None
    """Where the process's stderr goes; closed by `stop`."""

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
        if self.log is not None:
            self.log.close()


def start_server(
    name: str,
    args: list[str],
    env: dict[str, str],
    port: int,
    workers: int,
    *,
    start_seconds: float = 60.0,
) -> Server:
    # The server's stderr goes to a file, never to an unread pipe: a server that logs a lot
    # (asyncio warns on every write to a connection the load tool dropped) would fill the
    # pipe and stop, mid-run, blocked on its own log line.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        args, env=bench_env(env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
    )
    server = Server(name, port, process, log)
    deadline = time.monotonic() + start_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            log.close()
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


def uvicorn_command(module: str, factory: str, port: int, workers: int | None = None) -> list[str]:
    """The command line of a served process: `python -m module` (uvicorn, or a launcher that
    takes its options) serving `factory` on 127.0.0.1:`port`, with `uvicorn_options`."""
    args = [sys.executable, "-m", module, "--factory", factory]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        args += ["--workers", str(workers)]
    return [*args, *uvicorn_options()]


def start_uvicorn(name: str, factory: str, env: dict[str, str], workers: int = 1) -> Server:
    port = free_port()
    args = uvicorn_command("bench.uvicorn_nodelay", factory, port, workers)
    return start_server(name, args, env, port, workers)


def start_emulator(env: dict[str, str] | None = None, extra: Sequence[str] = ()) -> Server:
    """The emulator (`bench.servers:emulator_app`) on one uvicorn worker and a free port, its
    issuer its own URL, with `env` added and `extra` uvicorn options. It runs on the loop and
    parser of every served process (`uvicorn_options`): uvicorn's `auto` would put the emulator
    alone on uvloop when that is installed."""
    port = free_port()
    args = [*uvicorn_command("uvicorn", "bench.servers:emulator_app", port), *extra]
    issuer = {"AUTHAI_BENCH_ISSUER": f"http://127.0.0.1:{port}"}
    return start_server("emulator", args, {**issuer, **(env or {})}, port, 1)


def approve(emulator: Server, user_code: str) -> None:
    response = httpx.post(
        f"{emulator.url}/codex/device", data={"user_code": user_code, "action": "approve"}
    )
    response.raise_for_status()


def sign_in_app(app: Server, emulator: Server) -> str:
    """The browser-side device flow on our served app; returns the JWT."""
    started = httpx.post(f"{app.url}/authai/auth/start", json={"provider": "openai"}).json()
    approve(emulator, started["userCode"])
    polled = httpx.get(f"{app.url}/authai/auth/poll/{started['sessionId']}").json()
    if polled.get("status") != "complete":
        raise RuntimeError(f"sign-in did not complete: {polled}")
    return str(polled["jwt"])


async def direct_tokens(emulator: Server) -> tuple[str, str, str]:
    """A Codex CLI style sign-in straight at the emulator: (access, refresh, account id)."""
    settings = Settings.build(openai={"issuer": emulator.url})
    async with httpx.AsyncClient() as http:
        provider = OpenAIProvider(
            settings.openai, http, originator="codex_cli_rs", clock=SystemClock()
        )
        start = await provider.start_device_login()
        approve(emulator, start.user_code)
        poll = await provider.poll_device_login(start.state)
    creds = poll.credentials
    if creds is None or creds.refresh is None:
        raise RuntimeError(f"direct sign-in failed: {poll.status}")
    return creds.access, creds.refresh, creds.account_id


def upstream_request(emulator: Server) -> tuple[dict[str, str], Any]:
    """The last model call the emulator received (what our app sent upstream), to send it
    straight to the emulator: its headers without the connection's own, a direct sign-in's
    access token in place of the user's, and its JSON body."""
    last = httpx.get(f"{emulator.url}/bench/last", timeout=120).json()
    headers = {k: v for k, v in last["headers"].items() if k not in _HOP_HEADERS}
    access, _, _ = asyncio.run(direct_tokens(emulator))
    headers["authorization"] = f"Bearer {access}"
    return headers, last["body"]


_HOP_HEADERS = ("host", "content-length", "connection", "transfer-encoding")


def settle(emulator: Server, limit: float = 30.0) -> None:
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
