"""`--scale`: how many long streamed answers one worker holds, what each costs, and the delay
the mount adds to every event.

Each server in its own process on 127.0.0.1: the emulator (uvicorn, 1 worker), pacing its
answers (a first token after `ttft`, then `rate` events a second, `events` text deltas each
stamped with its send time), and our app on one uvicorn worker. At each level the same number
of streams goes straight to the emulator (direct), then through our app (served), from
`bench.streams` in its own process. Memory per stream is the RSS growth of our worker (the
emulator's does not count); the delay of an event is its arrival time minus its stamp.

At each level the same streams also go to uvicorn alone serving a trivially paced stream
(`bench.scale_floor`, on its own): the floor any ASGI app on one uvicorn worker stands on.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .processes import (
    ROOT,
    Server,
    bench_env,
    direct_tokens,
    settle,
    sign_in_app,
    start_emulator,
    start_uvicorn,
    uvicorn_loop,
)
from .report import Row, Target
from .streams import raise_open_file_limit

__all__ = ["Level", "Pacing", "ScaleResult", "measure_scale", "scale_rows", "serve_pair"]

MEMORY_TARGET_KIB = 32.0
DELAY_TARGET_MS = 5.0
DELAY_TARGET_STREAMS = 1000


@dataclass(frozen=True, slots=True)
class Pacing:
    """How the emulator answers: time to first token (s), events a second, text deltas."""

    ttft: float = 0.3
    rate: float = 50.0
    events: int = 250

    @property
    def seconds(self) -> float:
        return self.ttft + (self.events + 8) / self.rate

    @property
    def ramp(self) -> float:
        """Over how many seconds a level's streams are opened: half an answer's length, so at
        twice the rate that keeps that many answers of this length open (streams / seconds),
        and all of them are open together before the first ends."""
        return self.seconds / 2

    def knobs(self) -> dict[str, Any]:
        return {
            "first_byte_delay": self.ttft,
            "events_per_second": self.rate,
            "answer_events": self.events,
            "stamp_events": True,
        }


@dataclass(frozen=True, slots=True)
class Side:
    """One side's run at one level: what the load generator saw and what the server spent."""

    report: dict[str, Any]
    rss_growth_kib: float
    cpu_seconds: float

    @property
    def cpu_us_per_event(self) -> float | None:
        events = int(self.report["events"])
        return self.cpu_seconds / events * 1e6 if events else None


@dataclass(frozen=True, slots=True)
class Level:
    """Direct and served at one number of open streams."""

    streams: int
    direct: Side
    served: Side
    emulator_cpu_served: float
    """The emulator's CPU seconds during the served run (its share when we proxy)."""
    floor: Side | None = None
    """uvicorn alone holding the same paced streams (`bench.scale_floor`)."""


@dataclass(frozen=True, slots=True)
class ScaleResult:
    pacing: Pacing
    levels: list[Level]


@contextmanager
def serve_pair(
    tmp: Path,
    emulator_env: dict[str, str] | None = None,
    factory: str = "bench.servers:authai_app",
    app_env: dict[str, str] | None = None,
) -> Iterator[tuple[Server, Server]]:
    """The emulator and our app on one uvicorn worker, stopped afterwards."""
    running: list[Server] = []
    try:
        running.append(start_emulator(emulator_env, ["--backlog", "8192"]))
        app_env = {
            **(app_env or {}),
            "AUTHAI_BENCH_ISSUER": running[0].url,
            "AUTHAI_BENCH_DB": str(tmp / "authai.db"),
            "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
            "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
        }
        running.append(start_uvicorn("authai 1w", factory, app_env, 1))
        yield running[0], running[1]
    finally:
        for server in running:
            server.stop()


def _specs(emulator: Server, app: Server) -> dict[str, dict[str, Any]]:
    """The served request (chat completions through our app) and its direct replay."""
    jwt = sign_in_app(app, emulator)
    chat = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    auth = {"authorization": f"Bearer {jwt}"}
    served: dict[str, Any] = {
        "path": "/authai/v1/chat/completions",
        "headers": auth,
        "body": chat,
        "expect": "[DONE]",
        "port": app.port,
    }
    with httpx.stream("POST", f"{app.url}{served['path']}", headers=auth, json=chat):
        pass
    access, _, _ = asyncio.run(direct_tokens(emulator))
    last = httpx.get(f"{emulator.url}/bench/last", timeout=60).json()
    skip = ("host", "content-length", "connection", "transfer-encoding", "content-type")
    headers = {k: v for k, v in last["headers"].items() if k not in skip}
    headers["authorization"] = f"Bearer {access}"
    direct = {
        "path": "/backend-api/codex/responses",
        "headers": headers,
        "body": last["body"],
        "expect": "response.completed",
        "port": emulator.port,
    }
    return {"direct": direct, "served": served}


def _run_streams(spec: dict[str, Any], watch: Server) -> tuple[dict[str, Any], float]:
    """Run the load generator; returns its report and the peak RSS (KiB) of `watch`."""
    peak = [watch.rss_kib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                peak[0] = max(peak[0], watch.rss_kib())
            except (OSError, RuntimeError):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.streams"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            env=bench_env({}),
            cwd=ROOT,
            timeout=float(spec["timeout"]) + float(spec["ramp"]) + 120,
            check=False,
        )
    finally:
        done.set()
        sampler.join()
    if out.returncode != 0:
        raise RuntimeError(f"the stream load generator failed: {out.stderr[-800:]}")
    report: dict[str, Any] = json.loads(out.stdout)
    return report, peak[0]


def event_loop_name() -> str:
    """The event loop every server of the run is started on (`uvicorn_loop`)."""
    return uvicorn_loop()


def _floor(streams: int, pacing: Pacing) -> Side:
    """uvicorn alone (`bench.scale_floor`) holding `streams` paced streams: its RSS growth and
    CPU, the same way as our worker's."""
    env = {
        "AUTHAI_BENCH_FLOOR_RATE": str(pacing.rate),
        "AUTHAI_BENCH_FLOOR_EVENTS": str(pacing.events),
    }
    server = start_uvicorn("uvicorn alone", "bench.scale_floor:floor_app", env, 1)
    try:
        spec: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": server.port,
            "path": "/",
            "headers": {},
            "body": {},
            "expect": "[DONE]",
            "timeout": pacing.seconds * 10 + 60,
        }
        _run_streams({**spec, "streams": 20, "ramp": 0.0}, server)  # warm, as the others
        before, cpu = server.rss_kib(), server.cpu_seconds()
        spec |= {"streams": streams, "ramp": pacing.ramp}
        report, peak = _run_streams(spec, server)
        side = Side(report, peak - before, server.cpu_seconds() - cpu)
    finally:
        server.stop()
    print(
        f"  scale uvicorn alone {streams}: {report['completed']}/{streams} complete,"
        f" delay p99 {report['delay_p99_ms']} ms",
        file=sys.stderr,
    )
    return side


def measure_scale(levels: list[int], pacing: Pacing) -> ScaleResult:
    """Run every level, direct then served, each level on servers of its own (stopped
    afterwards), so that no level's memory figure starts from a heap a larger or earlier one
    already grew."""
    raise_open_file_limit()
    results = [_level(streams, pacing) for streams in levels]
    # uvicorn alone, once the emulator and our app are stopped: nothing else of the bench runs
    return ScaleResult(pacing, [replace(lv, floor=_floor(lv.streams, pacing)) for lv in results])


def _level(streams: int, pacing: Pacing) -> Level:
    """`streams` paced streams straight to a fresh emulator, then through a fresh app."""
    # Every open stream holds an upstream connection: the pool's default cap (256 per origin)
    # would queue the rest, so it is raised past the level.
    cap = {"AUTHAI_BENCH_UPSTREAM_CONNECTIONS": str(streams + 64)}
    with (
        tempfile.TemporaryDirectory(prefix="authai-scale-") as name,
        serve_pair(Path(name), app_env=cap) as (emulator, app),
    ):
        specs = _specs(emulator, app)
        httpx.post(f"{emulator.url}/bench/knobs", json=pacing.knobs(), timeout=60)
        host = urlsplit(emulator.url).hostname or "127.0.0.1"
        for side in ("direct", "served"):  # warm both paths: first allocations are not per stream
            warm = {**specs[side], "host": host, "streams": 20, "ramp": 0.0, "timeout": 120}
            _run_streams(warm, emulator)
        settle(emulator, 60.0)
        sides: dict[str, Side] = {}
        emulator_cpu = 0.0
        for side in ("direct", "served"):
            watch = emulator if side == "direct" else app
            spec = {
                **specs[side],
                "host": host,
                "streams": streams,
                "ramp": pacing.ramp,
                "timeout": pacing.seconds * 10 + 60,
            }
            before_rss = watch.rss_kib()
            cpu_before = watch.cpu_seconds()
            emulator_before = emulator.cpu_seconds()
            report, peak = _run_streams(spec, watch)
            sides[side] = Side(report, peak - before_rss, watch.cpu_seconds() - cpu_before)
            if side == "served":
                emulator_cpu = emulator.cpu_seconds() - emulator_before
            print(
                f"  scale {side} {streams}: {report['completed']}/{streams} complete,"
                f" errors {report['errors']}, delay p99 {report['delay_p99_ms']} ms,"
                f" peak open {report['peak_open']}",
                file=sys.stderr,
            )
            settle(emulator, 60.0)
    return Level(streams, sides["direct"], sides["served"], emulator_cpu)


def _ms(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def scale_rows(result: ScaleResult) -> list[Row]:
    """The `--scale` table: errors, memory, delay and CPU per event at each level."""
    p = result.pacing
    sec = f"7 open streams (1 worker, {p.rate:g} events/s for {p.seconds:.0f} s)"
    rows: list[Row] = []
    loop = f"uvicorn on {event_loop_name()}"
    for level in result.levels:
        n, direct, served = level.streams, level.direct, level.served
        failures = served.report["failures"] + direct.report["failures"]
        rows.append(
            Row(
                sec,
                f"{n:,} streams: errors",
                float(served.report["errors"]),
                "",
                float(direct.report["errors"]),
                Target("==", 0.0),
                f"{served.report['completed']:,} complete; peak open {served.report['peak_open']:,}"
                + (f"; {failures[0]}" if failures else ""),
            )
        )
        rows.append(
            Row(
                sec,
                f"{n:,} streams: memory per open stream",
                served.rss_growth_kib / n,
                "KiB",
                direct.rss_growth_kib / n,
                Target("<=", MEMORY_TARGET_KIB),
                f"RSS growth of our worker / streams; direct = the emulator's; {loop}",
            )
        )
        floor = level.floor
        if floor is not None:
            floor_kib = floor.rss_growth_kib / n
            rows.append(
                Row(
                    sec,
                    f"{n:,} streams: memory per open stream, uvicorn alone",
                    floor_kib,
                    "KiB",
                    note="a trivially paced ASGI stream (bench/scale_floor.py): the floor",
                )
            )
            rows.append(
                Row(
                    sec,
                    f"{n:,} streams: memory per open stream above uvicorn alone",
                    served.rss_growth_kib / n - floor_kib,
                    "KiB",
                    note="ours minus the floor: what the mount itself holds per stream",
                )
            )
        p99, base99 = _ms(served.report["delay_p99_ms"]), _ms(direct.report["delay_p99_ms"])
        rows.append(
            Row(
                sec,
                f"{n:,} streams: delay per event p99",
                p99,
                "ms",
                base99,
                Target("added<=", DELAY_TARGET_MS) if n == DELAY_TARGET_STREAMS else None,
                f"arrival - emulator's send stamp; {served.report['events']:,} events",
            )
        )
        p50, base50 = _ms(served.report["delay_p50_ms"]), _ms(direct.report["delay_p50_ms"])
        rows.append(Row(sec, f"{n:,} streams: delay per event p50", p50, "ms", base50))
        if floor is not None:
            rows.append(
                Row(
                    sec,
                    f"{n:,} streams: delay per event p99, uvicorn alone",
                    _ms(floor.report["delay_p99_ms"]),
                    "ms",
                    note="the same streams from a trivially paced app: what the box allows",
                )
            )
        rows.append(
            Row(
                sec,
                f"{n:,} streams: CPU per event",
                served.cpu_us_per_event,
                "µs",
                direct.cpu_us_per_event,
                note="our worker, user + system; direct = the emulator's own",
            )
        )
        if floor is not None:
            rows.append(
                Row(
                    sec,
                    f"{n:,} streams: CPU per event, uvicorn alone",
                    floor.cpu_us_per_event,
                    "µs",
                    note="a trivially paced ASGI stream: uvicorn's own share of an event",
                )
            )
    return rows


def scale_series(result: ScaleResult) -> dict[int, tuple[float, float | None, float | None]]:
    """Open streams -> (KiB per stream, served delay p99 ms, direct delay p99 ms), to plot."""
    return {
        level.streams: (
            level.served.rss_growth_kib / level.streams,
            _ms(level.served.report["delay_p99_ms"]),
            _ms(level.direct.report["delay_p99_ms"]),
        )
        for level in result.levels
    }
