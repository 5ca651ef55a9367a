"""`python -m bench --instructions`: the CPU of one proxied streamed completion counted in
machine instructions (valgrind's callgrind), for the emulator answering it directly, the bare
relay and ours, each a uvicorn process of its own on loopback.

Why: on a shared VM the CPU time of the same request moves by half from one minute to the next,
so the "CPU per request" rows of the served table cannot tell a 3% change from the machine's
mood. An instruction count is the same to about 1% run after run. It counts user space only
(the system calls' kernel time is not in it) and says nothing of cache misses: it is the
figure to compare two versions of the code with, not a latency.

Each server runs under `valgrind --tool=callgrind --instr-atstart=no`: counting is switched on
(`callgrind_control -i on`) only around the measured requests, after a warm-up, and the dump
taken then holds exactly those requests.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from .processes import (
    Server,
    free_port,
    sign_in_app,
    start_server,
    upstream_request,
    uvicorn_command,
)
from .report import Row
from .rig import MODEL
from .served import PROMPT

__all__ = [
    "INSTRUCTIONS_HOW",
    "InstructionCounts",
    "instruction_rows",
    "measure_instructions",
    "valgrind_missing",
]

_TOOLS = ("valgrind", "callgrind_control")
_TOTALS = re.compile(rb"^(?:totals|summary): (\d+)", re.MULTILINE)
_START_SECONDS = 300.0  # a Python process under valgrind starts 20-50 times slower

INSTRUCTIONS_HOW = """\
- Three uvicorn processes on loopback, each under `valgrind --tool=callgrind
  --instr-atstart=no` (the same loop, parser and collector settings as the served table): the
  emulator, the bare relay (`bench/relay_floor.py`) and ours (`bench.servers:authai_app`, one
  worker, SQLite). The same streamed completion as the served table goes to each: a Chat
  Completions request to ours, the Responses request ours sends upstream to the emulator and
  to the relay.
- After a warm-up, counting is switched on in the measured process only (`callgrind_control
  -i on`), the requests run one at a time, and the dump taken then holds exactly them: the
  figure is instructions per request (thousands, "k instr"), user space only. The ratio is
  against the emulator answering the same request.
- "Ours over the floor" is ours minus the bare relay: what the session, the vault, the
  translation and the rest of our own work cost a request.
- The count repeats to about 1% run after run whatever the machine does (three runs of 100
  requests on 2026-12-07: ours 2,549-2,581 thousand, the emulator 2,176-2,188), where CPU time
  moves by half on this VM: it is the figure to compare two versions of the code with. It
  leaves out the kernel's share (the system calls) and what cache misses and mispredicted
  branches cost, which weigh more on ours than on the emulator (see "Where the time goes"):
  ours' CPU time over the emulator's stays above its instruction ratio.
"""


def valgrind_missing() -> str | None:
    """Why `--instructions` cannot run here (`None`: it can)."""
    absent = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not found (Debian: apt-get install valgrind)"
    return None


@dataclass(frozen=True, slots=True)
class InstructionCounts:
    """Instructions per request (user space) of each server, and how many requests counted."""

    requests: int
    emulator: float
    relay: float
    ours: float


@dataclass(frozen=True, slots=True)
class _Target:
    server: Server
    url: str
    headers: dict[str, str]
    body: bytes
    expect: bytes


def _counted(
    name: str, module: str, factory: str, env: dict[str, str], tmp: Path, port: int
) -> Server:
    """`factory` under uvicorn (`module`) under callgrind on `port`, counting nothing until
    told; its dumps go to `tmp / "<name>.out.<n>"`."""
    args = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    args += [f"--callgrind-out-file={tmp / f'{name}.out'}", *uvicorn_command(module, factory, port)]
    return start_server(name, args, env, port, 1, start_seconds=_START_SECONDS)


@contextmanager
def _servers(tmp: Path) -> Iterator[dict[str, Server]]:
    """The emulator (its issuer its own URL), the bare relay and ours, each counted."""
    running: dict[str, Server] = {}
    try:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        running["emulator"] = _counted(
            "emulator",
            "uvicorn",
            "bench.servers:emulator_app",
            {"AUTHAI_BENCH_ISSUER": issuer},
            tmp,
            port,
        )
        running["relay"] = _counted(
            "relay",
            "bench.uvicorn_nodelay",
            "bench.relay_floor:relay_app",
            {"AUTHAI_BENCH_RELAY_TARGET": f"{issuer}/backend-api/codex/responses"},
            tmp,
            free_port(),
        )
        running["ours"] = _counted(
            "ours",
            "bench.uvicorn_nodelay",
            "bench.servers:authai_app",
            {
                "AUTHAI_BENCH_ISSUER": issuer,
                "AUTHAI_BENCH_DB": str(tmp / "authai.db"),
                "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
                "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
            },
            tmp,
            free_port(),
        )
        yield running
    finally:
        for server in running.values():
            server.stop()


def _targets(running: dict[str, Server]) -> dict[str, _Target]:
    """The same completion for each server: Chat Completions to ours, and the Responses
    request ours sent upstream (read back from the emulator) to the emulator and the relay."""
    ours, emulator, relay = running["ours"], running["emulator"], running["relay"]
    jwt = sign_in_app(ours, emulator)
    chat = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    targets = {
        "ours": _Target(
            ours,
            f"{ours.url}/authai/v1/chat/completions",
            {"authorization": f"Bearer {jwt}", "content-type": "application/json"},
            json.dumps(chat).encode(),
            b"[DONE]",
        )
    }
    with httpx.Client(timeout=120) as client:  # what ours sends upstream, for the other two
        _request(client, targets["ours"])
    headers, payload = upstream_request(emulator)
    body = json.dumps(payload).encode()
    upstream = "/backend-api/codex/responses"
    expect = b"response.completed"
    targets["emulator"] = _Target(emulator, f"{emulator.url}{upstream}", headers, body, expect)
    targets["relay"] = _Target(relay, f"{relay.url}/relay", headers, body, expect)
    return targets


def _request(client: httpx.Client, target: _Target) -> None:
    with client.stream("POST", target.url, headers=target.headers, content=target.body) as r:
        data = r.read()
    if r.status_code != 200 or target.expect not in data:
        raise RuntimeError(f"{target.url}: {r.status_code} {data[:300]!r}")


def _control(server: Server, *flags: str) -> None:
    command = ["callgrind_control", *flags, str(server.process.pid)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _count(target: _Target, out: Path, requests: int, warmup: int) -> float:
    """Instructions per request of `target`'s server over `requests` requests in turn."""
    with httpx.Client(timeout=120) as client:
        for _ in range(warmup):
            _request(client, target)
        _control(target.server, "--zero")
        _control(target.server, "--instr=on")
        for _ in range(requests):
            _request(client, target)
        _control(target.server, "--dump=measured")
        _control(target.server, "--instr=off")
    return _total(out) / requests


def _total(out: Path) -> int:
    """The instruction total of the newest dump of `out` (`out.1`, `out.2`, ...)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dumps = sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:]))
        if dumps:
            found = _TOTALS.search(dumps[-1].read_bytes())
            if found:
                return int(found.group(1))
        time.sleep(0.2)
    raise RuntimeError(f"callgrind wrote no dump next to {out}")


def measure_instructions(requests: int = 100, warmup: int = 20) -> InstructionCounts:
    """Count each server's instructions per request (see the module's docstring)."""
    missing = valgrind_missing()
    if missing:
        raise RuntimeError(f"--instructions needs valgrind: {missing}")
    with tempfile.TemporaryDirectory(prefix="authai-callgrind-") as name:
        tmp = Path(name)
        with _servers(tmp) as running:
            targets = _targets(running)
            counts = {
                server: _count(targets[server], tmp / f"{server}.out", requests, warmup)
                for server in ("emulator", "relay", "ours")
            }
    return InstructionCounts(requests, counts["emulator"], counts["relay"], counts["ours"])


def instruction_rows(counts: InstructionCounts) -> list[Row]:
    """The section's table: thousands of instructions per request, against the emulator's."""
    sec = "9 instructions per streamed request (callgrind, user space)"
    k = 1000.0
    note = f"{counts.requests} requests counted; direct = the emulator answering it"
    return [
        Row(sec, "ours, 1 worker", counts.ours / k, "k instr", counts.emulator / k, note=note),
        Row(sec, "bare relay (the floor)", counts.relay / k, "k instr", counts.emulator / k),
        Row(
            sec,
            "ours over the floor (our own work)",
            (counts.ours - counts.relay) / k,
            "k instr",
        ),
    ]
