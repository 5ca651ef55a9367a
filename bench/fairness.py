"""`python -m bench --fairness`: overload and fairness (issue 20, item 4).

Two measurements, small by default (the machine is shared):

- **Fairness**, in-process against a slow upstream (the emulator's `first_byte_delay`): the
  latency of 20 users' calls alone, then while one heavy user keeps 200 calls going (each one
  re-sent as soon as it is answered, after the `Retry-After` of a 429), with the per-user cap
  at its default and switched off.
- **Upstream bottleneck**, served (uvicorn, one worker each, loopback): p99 at c=64 sent
  straight to the emulator and through the mount, against a slow upstream (250 ms and 50 ms
  to the first byte) and one without delay. Target: ours within 1.5x of direct. Only the
  250 ms upstream is the bottleneck on a small machine (64 calls every 250 ms ask for 256
  answers a second; every 50 ms, 1,280, more than one worker serves): each row says whether
  ours kept direct's rate, that is whether the upstream was the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from authai_embed import AuthAI, MemoryStore, Secrets, StreamingASGITransport, mount_authai
from authai_embed._transports.upstream_client import new_upstream_client
from authai_embed.testing import Emulator

from .loadgen import LoadResult
from .processes import (
    Server,
    direct_tokens,
    settle,
    sign_in_app,
    start_emulator,
    start_uvicorn,
)
from .report import Row, Target, markdown_table
from .rig import BENCH_LIMITS, ISSUER, MODEL, not_found
from .served import Target as LoadTarget
from .stats import percentile

__all__ = ["FairnessPlan", "run_fairness", "write_section"]

SECTION = "## Fairness and overload"
START, END = "<!-- fairness results -->", "<!-- end of fairness results -->"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


@dataclass(frozen=True, slots=True)
class FairnessPlan:
    """How much to measure."""

    users: int = 20
    calls_per_user: int = 10
    heavy: int = 200
    upstream_delay: float = 0.02  # the fairness run's time to first byte upstream, seconds
    concurrency: int = 64
    duration: float = 3.0  # per load run of the bottleneck measurement, seconds
    rounds: int = 3  # odd: the round with the median ratio is a round, not the worse of two
    slow_delays: tuple[float, ...] = (0.25, 0.05)


QUICK_FAIRNESS = FairnessPlan(users=5, calls_per_user=3, heavy=40, duration=1.0, rounds=1)
UPSTREAM_BOUND = 0.9
"""Ours at this share of direct's requests/s or more: the upstream, not our worker, set the
rate of both runs."""


# -- fairness, in-process -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FairnessResult:
    """The light users' latencies (ms) and the heavy user's answers by status."""

    light_ms: list[float]
    light_refused: int
    heavy_statuses: dict[int, int]


async def _app(cap: int | None, delay: float) -> tuple[AuthAI, Emulator, httpx.AsyncClient]:
    emulator = Emulator(issuer=ISSUER)
    emulator.codex.knobs.first_byte_delay = delay
    upstream = new_upstream_client(httpx.Timeout(60), transport=StreamingASGITransport(emulator))
    host = mount_authai(
        not_found,
        store=MemoryStore(),
        secrets=Secrets.generate(),
        http_client=upstream,
        limits=BENCH_LIMITS,
        max_concurrent_per_user=cap,
        openai={"issuer": ISSUER, "api_base": f"{ISSUER}/backend-api/codex"},
    )
    assert isinstance(host, AuthAI)
    await host.startup()
    client = httpx.AsyncClient(
        transport=StreamingASGITransport(host), base_url="http://app.bench", timeout=120
    )
    return host, emulator, client


async def _sign_in(client: httpx.AsyncClient, emulator: Emulator, account: str) -> str:
    emulator.add_account(account, email=f"{account}@example.com")
    started = (await client.post("/authai/auth/start", json={"provider": "openai"})).json()
    emulator.approve(started["userCode"], account=account)
    polled = (await client.get(f"/authai/auth/poll/{started['sessionId']}")).json()
    return str(polled["jwt"])


async def _fairness_run(plan: FairnessPlan, cap: int | None, heavy: bool) -> FairnessResult:
    host, emulator, client = await _app(cap, plan.upstream_delay)
    try:
        users = [await _sign_in(client, emulator, f"light-{n}") for n in range(plan.users)]
        hog = await _sign_in(client, emulator, "heavy")
        light_ms: list[float] = []
        refused = 0
        statuses: dict[int, int] = {}
        done = asyncio.Event()

        async def light(jwt: str) -> None:
            nonlocal refused
            for _ in range(plan.calls_per_user):
                started = time.perf_counter()
                answer = await client.post(
                    "/authai/v1/chat/completions", json=CHAT, headers=_bearer(jwt)
                )
                if answer.status_code == 200:
                    light_ms.append((time.perf_counter() - started) * 1000)
                else:
                    refused += 1

        async def heavy_worker() -> None:
            while not done.is_set():
                answer = await client.post(
                    "/authai/v1/chat/completions", json=CHAT, headers=_bearer(hog)
                )
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if answer.status_code == 429:  # a polite client: it waits as told
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

        workers = [asyncio.create_task(heavy_worker()) for _ in range(plan.heavy if heavy else 0)]
        await asyncio.sleep(plan.upstream_delay * 2)  # the heavy user's burst is in flight
        await asyncio.gather(*(light(jwt) for jwt in users))
        done.set()
        await asyncio.gather(*workers)
        return FairnessResult(light_ms, refused, statuses)
    finally:
        await client.aclose()
        await host.shutdown()
        await host.http.aclose()


def _bearer(jwt: str) -> dict[str, str]:
    return {"authorization": f"Bearer {jwt}"}


async def measure_fairness(plan: FairnessPlan, rows: list[Row]) -> None:
    """Rows: the light users' p50/p99 with the heavy user (cap on, cap off) vs without."""
    sec = f"fairness (in-process, upstream first byte {plan.upstream_delay * 1000:.0f} ms)"
    alone = await _fairness_run(plan, 16, heavy=False)
    base50, base99 = percentile(alone.light_ms, 50), percentile(alone.light_ms, 99)
    for label, cap in (("cap 16 (default)", 16), ("cap off", None)):
        loaded = await _fairness_run(plan, cap, heavy=True)
        who = f"{plan.users} users, {plan.calls_per_user} calls each"
        heavy = ", ".join(f"{n}x {s}" for s, n in sorted(loaded.heavy_statuses.items()))
        note = f"{label}; heavy user {plan.heavy} concurrent: {heavy}"
        rows.append(
            Row(sec, f"{who}: p50 with heavy user", percentile(loaded.light_ms, 50), "ms", base50)
        )
        rows.append(
            Row(
                sec,
                f"{who}: p99 with heavy user (direct = without it)",
                percentile(loaded.light_ms, 99),
                "ms",
                base99,
                note=note,
            )
        )
        rows.append(
            Row(
                sec,
                f"{label}: light users' calls refused",
                float(loaded.light_refused),
                "",
                None,
                Target("==", 0.0) if cap else None,
            )
        )


# -- the upstream bottleneck, served --------------------------------------------------------


def _servers(tmp: Path) -> tuple[Server, Server]:
    emulator = start_emulator()
    env = {
        "AUTHAI_BENCH_ISSUER": emulator.url,
        "AUTHAI_BENCH_DB": str(tmp / "authai.db"),
        "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
        "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
        # One user drives c=64 here, as the direct run does: the cap is not what is measured.
        "AUTH_AI_MAX_CONCURRENT_PER_USER": "0",
    }
    try:
        return emulator, start_uvicorn("authai 1w", "bench.servers:authai_app", env)
    except BaseException:
        emulator.stop()
        raise


def _targets(app: Server, emulator: Server) -> tuple[LoadTarget, LoadTarget]:
    jwt = sign_in_app(app, emulator)
    chat = {**CHAT, "stream": True}
    headers = {"authorization": f"Bearer {jwt}", "content-type": "application/json"}
    url = f"{app.url}/authai/v1/chat/completions"
    ours = LoadTarget("ours", url, headers, chat, "[DONE]")
    ours.check()
    access, _, _ = asyncio.run(direct_tokens(emulator))
    last = httpx.get(f"{emulator.url}/bench/last", timeout=60).json()
    hop = ("host", "content-length", "connection", "transfer-encoding")
    direct_headers = {k: v for k, v in last["headers"].items() if k not in hop}
    direct_headers["authorization"] = f"Bearer {access}"
    url = f"{emulator.url}/backend-api/codex/responses"
    direct = LoadTarget("direct", url, direct_headers, last["body"], "response.completed")
    direct.check()
    return ours, direct


def run_load(spec: dict[str, Any]) -> LoadResult:
    """One load run by `bench.fair_load`, in its own process."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.fair_load"],
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
        tool="fair_load",
    )


def measure_bottleneck(plan: FairnessPlan, rows: list[Row]) -> None:
    """Rows: p99 (and p50, requests/s) through the mount vs direct at `plan.concurrency`.

    Each case starts with both paths warmed at the measured concurrency (connections open,
    upstream pool grown), and the rounds alternate which path goes first, so that neither
    always runs on the machine the other left behind."""
    c = plan.concurrency
    with tempfile.TemporaryDirectory(prefix="authai-fair-") as name:
        emulator, app = _servers(Path(name))
        try:
            ours, direct = _targets(app, emulator)
            cases = [("slow upstream", delay) for delay in plan.slow_delays]
            cases.append(("upstream without delay", 0.0))
            for label, delay in cases:
                knobs = {"first_byte_delay": delay}
                httpx.post(f"{emulator.url}/bench/knobs", json=knobs, timeout=10)
                for target in (ours, direct):  # warm both paths at the measured concurrency
                    run_load(target.spec(c, 1.0))
                    settle(emulator)
                pairs: list[tuple[LoadResult, LoadResult]] = []
                for n in range(plan.rounds):
                    measured: dict[str, LoadResult] = {}
                    for target in (ours, direct) if n % 2 == 0 else (direct, ours):
                        measured[target.name] = run_load(target.spec(c, plan.duration))
                        settle(emulator)
                    mine, theirs = measured["ours"], measured["direct"]
                    pairs.append((mine, theirs))
                    print(
                        f"  {label} {delay * 1000:.0f} ms c={c}: ours p99 {mine.p99_ms:.1f} ms"
                        f" {mine.rps:.0f}/s ({mine.errors} err), direct p99"
                        f" {theirs.p99_ms:.1f} ms {theirs.rps:.0f}/s",
                        file=sys.stderr,
                    )
                pairs.sort(key=lambda p: p[0].p99_ms / max(p[1].p99_ms, 1e-9))
                mine, theirs = pairs[len(pairs) // 2]
                sec = f"upstream bottleneck (served, 1 worker, c={c})"
                if delay:
                    label = f"{label} ({delay * 1000:.0f} ms to first byte)"
                bound = mine.rps >= UPSTREAM_BOUND * theirs.rps
                note = f"errors {mine.errors}/{theirs.errors}; " + (
                    "upstream-bound: ours kept direct's rate"
                    if bound
                    else "not upstream-bound: our worker set the rate"
                )
                rows.append(
                    Row(
                        sec,
                        f"{label}: p99",
                        mine.p99_ms,
                        "ms",
                        theirs.p99_ms,
                        Target("ratio<=", 1.5),
                        note,
                    )
                )
                rows.append(Row(sec, f"{label}: p50", mine.p50_ms, "ms", theirs.p50_ms))
                rows.append(Row(sec, f"{label}: requests/s", mine.rps, "/s", theirs.rps))
        finally:
            app.stop()
            emulator.stop()


def run_fairness(plan: FairnessPlan) -> list[Row]:
    """Both measurements' rows."""
    rows: list[Row] = []
    asyncio.run(measure_fairness(plan, rows))
    measure_bottleneck(plan, rows)
    return rows


def write_section(doc: Path, rows: Sequence[Row], command: str, when: str, machine: str) -> None:
    """Put the results between the markers of `doc`'s "Fairness and overload" section (the
    section is added at the end when missing); the rest of the page is left as it is."""
    text = doc.read_text() if doc.exists() else ""
    results = f"""{START}
Generated by `{command}` on {when}; machine: {machine}.

{markdown_table(rows)}
{END}"""
    before, found, after = text.partition(START)
    if found and END in after:
        text = before + results + after.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{results}\n"
    doc.write_text(text)


def kept_section(doc: Path) -> str:
    """The "Fairness and overload" section of `doc` as it stands ("" without one), for a full
    `python -m bench` to carry over when it rewrites the page."""
    if not doc.exists():
        return ""
    _, found, after = doc.read_text().partition(SECTION)
    if not found:
        return ""
    return SECTION + after.split("\n## ", 1)[0].rstrip("\n") + "\n"
