"""`python -m bench [--quick] [--only ...] [--doc PATH]`: what authai_embed costs over calling
the upstream (the emulator) directly, on this machine, measured in one run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .auth_storm import measure_auth_path, measure_refresh_storm
from .docregions import kept_narrative
from .extra_runs import EXTRA_RUNS, add_extra_options, run_extras
from .fairness import QUICK_FAIRNESS, FairnessPlan, run_fairness, write_section
from .inprocess import measure_nonstreaming, measure_scaling, measure_ttft
from .loadgen import LoadResult
from .metering import measure_metering
from .observe_cost import measure_observe_cost, sdk_installed
from .report import Row, Target, format_table, machine, markdown_table, plot, verdict
from .rig import open_rig
from .served import METERED, RELAY, chatmock_installed, run_served, served_settings
from .stats import Summary
from .translate_cost import capture_stream, measure_translation

SECTIONS = (
    "inprocess",
    "streaming",
    "served",
    "auth",
    "storm",
    "scaling",
    "metering",
    "observe",
)
ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = [1, 16, 64, 256]
QUICK_CONCURRENCY = [1, 16]


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to measure: `--quick` for a smoke run, the default for the published table."""

    requests: int
    warmup: int
    rounds: int
    scale_requests: int
    auth_requests: int
    storm_burst: int
    storm_rounds: int
    duration: float
    memory_streams: int
    served_rounds: int
    alternating_pairs: int


QUICK = Plan(40, 5, 3, 8, 200, 16, 1, 1.5, 20, 1, 40)
FULL = Plan(400, 40, 40, 40, 3000, 64, 3, 12.0, 100, 3, 1500)


async def _inprocess(plan: Plan, only: set[str], rows: list[Row]) -> None:
    rig = await open_rig()
    try:
        if "inprocess" in only:
            paired = await measure_nonstreaming(rig, plan.requests, plan.warmup)
            sec = "1 in-process, non-streaming"
            rows.append(
                Row(
                    sec,
                    "latency p50",
                    paired.ours.p50,
                    "ms",
                    paired.direct.p50,
                    Target("added<=", 0.5),
                    f"added {paired.added_p50:.2f} ms",
                )
            )
            rows.append(
                Row(
                    sec,
                    "latency p99",
                    paired.ours.p99,
                    "ms",
                    paired.direct.p99,
                    note=f"added {paired.added_p99:.2f} ms",
                )
            )
        if "streaming" in only:
            sec = "2 streaming"
            ttft = await measure_ttft(rig, plan.requests, plan.warmup)
            rows.append(
                Row(
                    sec,
                    "time to first token p50",
                    ttft.ours.p50,
                    "ms",
                    ttft.direct.p50,
                    Target("added<=", 2.0),
                    f"added {ttft.added_p50:.2f} ms",
                )
            )
            chunks = await capture_stream(rig, 2000)
            cost = measure_translation(chunks, plan.rounds)
            rows.append(
                Row(
                    sec,
                    "translation per event",
                    cost.ours_us,
                    "µs",
                    cost.decode_us,
                    Target("<=", 20.0),
                    f"{cost.events} events; direct = decode only",
                )
            )
            rows.append(
                Row(
                    sec,
                    "events per second, one core",
                    cost.events_per_second,
                    "/s",
                    1e6 / cost.decode_us,
                )
            )
        if "scaling" in only:
            sec = "6 scaling (non-streaming)"
            shapes = [
                ("1 message", 1, 0),
                ("100 messages", 100, 0),
                ("1,000 messages", 1000, 0),
                ("10 tools", 1, 10),
                ("100 tools", 1, 100),
            ]
            for point in await measure_scaling(rig, shapes, plan.scale_requests, plan.warmup // 4):
                rows.append(
                    Row(
                        sec,
                        f"{point.label}: latency p50",
                        point.latency.ours.p50,
                        "ms",
                        point.latency.direct.p50,
                        note=f"added {point.latency.added_p50:.2f} ms",
                    )
                )
                rows.append(
                    Row(
                        sec,
                        f"{point.label}: peak memory per request",
                        point.ours_kib,
                        "KiB",
                        point.direct_kib,
                        note=f"added {point.ours_kib - point.direct_kib:.0f} KiB",
                    )
                )
    finally:
        await rig.aclose()


def _rps_ratio(mine: LoadResult, base: LoadResult) -> float:
    return mine.rps / base.rps if base.rps else 0.0


def _added_p50(mine: LoadResult, base: LoadResult) -> float:
    return mine.p50_ms - base.p50_ms


def _served_rows(results: object, rows: list[Row]) -> dict[str, dict[int, tuple[float, float]]]:
    from .served import ServedResults

    assert isinstance(results, ServedResults)
    sec = "3 served (uvicorn, loopback, streamed)"
    loads = results.loads
    direct = loads["direct"]
    for name in ("authai 1w", "authai 2w", RELAY, "chatmock"):
        if name not in loads:
            continue
        label = {
            "authai 1w": "ours, 1 worker",
            "authai 2w": "ours, 2 workers",
            RELAY: "bare relay (the floor), 1 worker",
        }.get(name, "ChatMock")
        ours_side = name in ("authai 1w", "authai 2w")
        for c, result in loads[name].items():
            target = Target("ratio>=", 0.85) if ours_side and c in (16, 64) else None
            mine, base = results.paired(name, "direct", c, _rps_ratio)
            rows.append(
                Row(
                    sec,
                    f"{label}, c={c}: requests/s",
                    mine.rps,
                    "/s",
                    base.rps,
                    target,
                    f"errors {result.error_rate:.1%}"
                    if result.requests or result.errors
                    else f"none completed in {result.seconds:.0f} s",
                )
            )
            if c == 1:
                mine, base = results.paired(name, "direct", 1, _added_p50)
                rows.append(
                    Row(
                        sec,
                        f"{label}, c=1: latency p50",
                        mine.p50_ms,
                        "ms",
                        base.p50_ms,
                        Target("added<=", 2.0) if ours_side else None,
                        f"added {mine.p50_ms - base.p50_ms:.2f} ms",
                    )
                )
    for name, label in (
        ("authai 1w", "ours, 1 worker"),
        ("authai 2w", "ours, 2 workers"),
        (RELAY, "bare relay (the floor), 1 worker"),
        ("chatmock", "ChatMock"),
    ):
        cpu = results.cpu_us.get(name, {}).get(16)
        direct_cpu = results.cpu_us.get("direct", {}).get(16)
        if cpu is not None and direct_cpu is not None:
            rows.append(
                Row(
                    sec,
                    f"{label}, c=16: CPU per request",
                    cpu,
                    "µs",
                    direct_cpu,
                    note="its own processes, user + system; direct = the emulator's",
                )
            )
    if "chatmock" in loads:
        for name, label in (("authai 1w", "1 worker"), ("authai 2w", "2 workers")):
            for c in (c for c in (16, 64) if c in loads[name]):
                mine, peer = results.paired(name, "chatmock", c, _rps_ratio)
                rows.append(
                    Row(
                        sec,
                        f"ours {label} vs ChatMock, c={c}: requests/s",
                        mine.rps,
                        "/s",
                        peer.rps,
                        Target("ratio>=", 1.0),
                        "direct = ChatMock",
                    )
                )
        rows.append(
            Row(
                sec,
                "ours 1 worker vs ChatMock, c=1: latency p50",
                loads["authai 1w"][1].p50_ms,
                "ms",
                loads["chatmock"][1].p50_ms,
                note="direct = ChatMock; lower is better",
            )
        )
    else:
        rows.append(Row(sec, "ChatMock", None, "", note=results.chatmock))
    if results.alternating is not None:
        alt = results.alternating
        turns = f"{alt.pairs:,} requests each, the two workers in turn"
        rows.append(
            Row(
                sec,
                "ledger + quota on, 1 worker, c=1: latency p50, requests in turn",
                alt.mine_p50_ms,
                "ms",
                alt.base_p50_ms,
                note=f"direct = ours, 1 worker, both off; {turns}",
            )
        )
        rows.append(
            Row(
                sec,
                "ledger + quota on, 1 worker, c=1: added latency (median of pair differences)",
                alt.added_ms,
                "ms",
                target=Target("<=", 0.1),
                note=turns,
            )
        )
    if METERED in loads:
        for c in (c for c in (1, 16) if c in loads[METERED]):
            mine, base = results.paired(METERED, "authai 1w", c, _added_p50)
            rows.append(
                Row(
                    sec,
                    f"ledger + quota on, 1 worker, c={c}: latency p50 under wrk",
                    mine.p50_ms,
                    "ms",
                    base.p50_ms,
                    None,
                    f"direct = ours, 1 worker, both off; added {mine.p50_ms - base.p50_ms:.2f} ms"
                    " in the median of 3 rounds",
                )
            )
    if results.memory is not None:
        memory = results.memory
        measured = memory.ours_kib is not None and memory.direct_kib is not None
        rows.append(
            Row(
                sec,
                "memory per open stream",
                memory.ours_kib if measured else None,
                "KiB",
                memory.direct_kib,
                Target("added<=", 64.0),
                f"{memory.streams} streams, RSS growth, 1 worker"
                + ("" if measured else "; the streams did not all complete"),
            )
        )
    rows.append(
        Row(
            sec,
            "direct: emulator alone, c=1 latency p50",
            direct[1].p50_ms,
            "ms",
            note=f"load tool: {direct[1].tool}; every server: {served_settings()}",
        )
    )
    names = {
        "direct": "emulator alone (direct)",
        "authai 1w": "ours, 1 worker",
        METERED: "ours, 1 worker, ledger + quota",
        "authai 2w": "ours, 2 workers",
        RELAY: "bare relay (the floor), 1 worker",
        "chatmock": "ChatMock",
    }
    return {  # a run where nothing completed has no latency to plot (NaN leaves a gap)
        names.get(name, name): {
            c: (r.p50_ms if r.requests else float("nan"), r.rps) for c, r in by_c.items()
        }
        for name, by_c in loads.items()
    }


async def _auth(plan: Plan, rows: list[Row]) -> None:
    sec = "4 auth path (JWT verify + store read + decrypt)"
    for store, result in (await measure_auth_path(plan.auth_requests)).items():
        if isinstance(result, Summary):
            rows.append(
                Row(
                    sec,
                    f"{store}: per request p50",
                    result.p50,
                    "µs",
                    note=f"p99 {result.p99:.0f} µs",
                )
            )
        else:
            rows.append(Row(sec, f"{store}", None, "", note=result))


async def _storm(plan: Plan, rows: list[Row]) -> None:
    sec = "5 refresh storm (one expired record)"
    storm = await measure_refresh_storm(plan.storm_burst, plan.storm_rounds)
    rows.append(
        Row(
            sec,
            "refreshes per storm",
            storm.refreshes / plan.storm_rounds,
            "",
            target=Target("==", 1.0),
            note=f"{storm.burst} concurrent requests, {plan.storm_rounds} storms",
        )
    )
    rows.append(
        Row(
            sec,
            "storm latency p50",
            storm.storm.p50,
            "ms",
            storm.calm.p50,
            note=f"direct = same burst, valid token; errors {storm.errors}",
        )
    )


async def _metering(plan: Plan, rows: list[Row]) -> None:
    sec = "7 usage ledger and quota (in-process, SQLite)"
    cost = await measure_metering(plan.requests, plan.warmup)
    rows.append(
        Row(
            sec,
            "latency p50, ledger + quota on",
            cost.latency.ours.p50,
            "ms",
            cost.latency.direct.p50,
            Target("added<=", 0.1),
            f"direct = today's (ledger off, no quota); added {cost.latency.added_p50:.3f} ms",
        )
    )
    rows.append(
        Row(
            sec,
            "latency p50, ledger only",
            cost.ledger_only.ours.p50,
            "ms",
            cost.ledger_only.direct.p50,
            Target("added<=", 0.1),
            f"direct = today's; added {cost.ledger_only.added_p50:.3f} ms",
        )
    )
    rows.append(
        Row(
            sec,
            "ledger store writes per 1,000 requests",
            cost.per_thousand(cost.flushes),
            "",
            note=f"{cost.flushes} batches for {cost.requests} requests (the last at shutdown)",
        )
    )
    rows.append(
        Row(
            sec,
            "quota reservations per 1,000 requests",
            cost.per_thousand(cost.reservations),
            "",
            note="atomic upserts, each reserving up to 16 calls (the process's allowance)",
        )
    )


async def _observe(plan: Plan, rows: list[Row]) -> None:
    sec = "8 events + OpenTelemetry (in-process, non-streaming)"
    if not sdk_installed():
        rows.append(Row(sec, "OpenTelemetry SDK", None, "", note="not installed"))
        return
    paired = await measure_observe_cost(plan.requests, plan.warmup)
    rows.append(
        Row(
            sec,
            "latency p50",
            paired.ours.p50,
            "ms",
            paired.direct.p50,
            Target("added<=", 0.1),
            f"added {paired.added_p50:.3f} ms; direct = no handler, no OpenTelemetry",
        )
    )
    rows.append(
        Row(
            sec,
            "latency p99",
            paired.ours.p99,
            "ms",
            paired.direct.p99,
            note=f"added {paired.added_p99:.3f} ms",
        )
    )


async def run(plan: Plan, only: set[str], rows: list[Row]) -> None:
    """Run the selected in-process measurements, appending rows."""
    if only & {"inprocess", "streaming", "scaling"}:
        await _inprocess(plan, only, rows)
    if "auth" in only:
        await _auth(plan, rows)
    if "storm" in only:
        await _storm(plan, rows)
    if "metering" in only:
        await _metering(plan, rows)
    if "observe" in only:
        await _observe(plan, rows)


def write_doc(
    path: Path,
    rows: Sequence[Row],
    command: str,
    started: datetime,
    seconds: float,
    plotted: Path | None,
) -> None:
    passed, failed = verdict(rows)
    kept = kept_narrative(path)  # hand-written analysis and the other runs' sections
    image = f"\n![Latency and throughput vs concurrency]({plotted.name})\n" if plotted else ""
    path.write_text(
        f"""# Performance

What embedding authai_embed costs over calling the upstream directly, measured against the
bundled emulator on one machine, with the same requests sent straight to the emulator as the
baseline in the same run. Generated by `{command}`; rerun it to refresh this page.

- Date: {started.strftime("%Y-%m-%d %H:%M UTC")} ({seconds:.0f} s)
- Machine: {machine()}
- Targets: {passed} passed, {failed} failed.

{markdown_table(rows)}
{image}
## How it is measured

- **Direct** is the same Responses request the proxy sends upstream (headers and body as the
  emulator recorded them, the same user's access token), sent straight to the emulator. Ratios
  are ours / direct from the same run; "added" is ours minus direct.
- **In-process** (1, 2, 6): both sides go through `StreamingASGITransport`, so the transport's
  cost cancels out, and both send a request body encoded once, before the timing; samples are
  taken in alternating pairs and timed in the thread's CPU time (nothing in-process waits for
  I/O, so on an idle machine that is the wall time; on a shared one it leaves out the time
  spent waiting for a core). Translation per event is the SSE
  decoder + JSON parse + Chat Completions translation of a captured upstream stream (best of 5
  batches); its direct column is the decoder + JSON parse alone, which any client pays.
- **Served** (3): each server in its own process on 127.0.0.1: the emulator (uvicorn, 1 worker);
  our app mounted on a bare ASGI host app with its own upstream client and a SQLite store
  (uvicorn, 1 and 2 workers); a bare relay (`bench/relay_floor.py`, uvicorn, 1 worker: the
  direct request relayed byte for byte through the upstream client we use, no session, no
  translation; since 2026-12-06 23:00 with the same collector settings as the others, before
  on CPython's defaults), the floor under any Python proxy of this kind on this machine; ChatMock
  (`chatmock` from PyPI, Flask's threaded server, as `chatmock serve` runs it) with its
  upstream constant pointed at the same emulator. Load comes
  from `wrk` (keep-alive, one POST, whole streamed answer per request) when installed, else an
  asyncio httpx client in its own process. At each concurrency the targets take turns for
  three 4-second rounds: this machine's speed drifts by tens of percent within a minute. A
  comparison (ours against direct, ours against ChatMock) is made within one round, seconds
  apart, and the table shows the round with the median ratio (for latency, the median
  difference); the plot and the CPU rows use each target's median round.
  Memory per open stream is the RSS growth of the
  serving process with that many slow streams open at once. CPU per request is the user +
  system time of the target's own processes during its c=16 run over the requests it completed
  (when we proxy, the emulator's share is not in ours). Each server's stderr goes to a file: an
  unread pipe fills (the emulator warns on every write to a connection wrk dropped, ChatMock
  logs every request) and stops the server mid-run.
- **ChatMock** is not a dependency of any extra: it pins exact versions of requests, urllib3,
  idna, certifi, Flask and Werkzeug, so installing it can downgrade packages other code needs
  (install it in the benchmark's own virtualenv: `pip install chatmock`). Without it the table
  says "not installed". ChatMock 1.40 sends no `instructions`, which the emulator requires (as
  the backend does for some models): its launcher (`bench/chatmock_server.py`) adds our
  default instructions and turns reasoning summaries off, so both proxies ask the emulator for
  the same stream.
- **uvicorn --workers 2** binds its socket with `proto` 0, so asyncio never sets TCP_NODELAY on
  accepted connections and each keep-alive response written in several pieces waits ~40 ms for
  the client's delayed ACK (Kludex/uvicorn#3149). A streamed completion is written in many
  pieces: the 2-worker server is started through `bench/uvicorn_nodelay.py`, which creates the
  socket as IPPROTO_TCP (do the same in production, or run one worker per process/port).
- **Events + OpenTelemetry** (8): two in-process mounts, each on its own emulator, the same
  non-streamed chat completion to both in alternating pairs. "Ours" has an `on_event` handler
  and the OpenTelemetry SDK configured (a batching span processor whose exporter drops the
  spans, and a metric reader); "direct" has neither, as without the `otel` extra. The
  difference is what a span per call, the metrics and the event checks cost a request.
- **Usage ledger and quota** (7, and the "ledger + quota on" rows of 3): today's mount (the
  ledger off, no quota) against the same mount with the ledger on and a daily request and
  token quota that never refuses, so every call makes its reservation. In-process both have
  their own SQLite store and samples alternate; "ledger only" is the ledger without a quota.
  Served, a third 1-worker app runs with both on and takes its turn in every round; its
  latency is paired with the 1-worker app's of the same round (under wrk). Then the two
  1-worker apps answer 1,500 streamed requests each from one client, one request to each in
  turn (which goes first alternates), on a keep-alive connection each: the target is on the
  median of the pairs' differences, since the rounds under wrk, 4 seconds apart, drift by
  several tenths of a millisecond on this machine. The ledger's store writes are
  its batches (one every `usage_flush_interval` seconds or `usage_flush_calls` calls, one at
  shutdown); a daily quota adds one atomic upsert per call, on the request's path.
- The machine is shared, so absolute figures are noisy; compare the ratios within one run.

"""
        + kept
    )


def _full_extras(args: argparse.Namespace) -> bool:
    """Whether `--scale`/`--soak` run at the sizes the published sections state: only such a
    run rewrites docs/performance.md without `--doc` (a diagnostic at other levels does not)."""
    return not args.quick and args.streams is None and args.soak_seconds is None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections: {', '.join(SECTIONS)}",
    )
    parser.add_argument("--no-chatmock", action="store_true", help="skip the ChatMock peer")
    add_extra_options(parser)
    parser.add_argument(
        "--fairness",
        action="store_true",
        help="only overload and fairness (bench/fairness.py); with --doc, its section there",
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=None,
        help="write the Markdown report here (default: docs/performance.md for "
        "a full run of every section, or --scale/--soak/--instructions at their default "
        "sizes; nothing for --quick, --streams or --soak-seconds)",
    )
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    doc = args.doc
    if args.fairness:
        return _fairness(args, doc)
    extras = [name for name in EXTRA_RUNS if getattr(args, name)]
    if extras:  # --scale / --soak run on their own and write their own sections
        if doc is None and _full_extras(args):
            doc = ROOT / "docs" / "performance.md"
        return run_extras(args, extras, doc)
    if doc is None and not args.quick and only == set(SECTIONS):
        doc = ROOT / "docs" / "performance.md"
    with_chatmock = not args.no_chatmock and chatmock_installed()
    # The proxy logs one INFO line per request: quiet it for the run, then put it back.
    package_logger = logging.getLogger("authai_embed")
    level = package_logger.level
    package_logger.setLevel(logging.WARNING)
    try:
        return _run_and_report(args, only, doc, with_chatmock)
    finally:
        package_logger.setLevel(level)


def _run_and_report(
    args: argparse.Namespace, only: set[str], doc: Path | None, with_chatmock: bool
) -> int:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    rows: list[Row] = []
    plan = QUICK if args.quick else FULL
    asyncio.run(run(plan, only, rows))
    series: dict[str, dict[int, tuple[float, float]]] = {}
    if "served" in only:
        served = run_served(
            QUICK_CONCURRENCY if args.quick else CONCURRENCY,
            plan.duration,
            plan.memory_streams,
            with_chatmock=with_chatmock,
            rounds=plan.served_rounds,
            alternating_pairs=plan.alternating_pairs,
        )
        series = _served_rows(served, rows)
    seconds = time.perf_counter() - clock
    print(f"Machine: {machine()}")
    print(format_table(rows))
    passed, failed = verdict(rows)
    print(f"\n{passed} targets passed, {failed} failed ({seconds:.0f} s)")
    if doc is not None:
        plotted = doc.with_name(doc.stem + "-latency.png") if series else None
        if plotted is not None and not plot(series, plotted):
            plotted = None
        command = " ".join(["python -m bench", shlex.join(args.argv)]).strip()
        write_doc(doc, rows, command, started, seconds, plotted)
        print(f"wrote {doc}" + (f" and {plotted}" if plotted else ""))
    return 0


def _fairness(args: argparse.Namespace, doc: Path | None) -> int:
    started = datetime.now(UTC)
    package_logger = logging.getLogger("authai_embed")
    level = package_logger.level
    package_logger.setLevel(logging.WARNING)
    try:
        rows = run_fairness(QUICK_FAIRNESS if args.quick else FairnessPlan())
    finally:
        package_logger.setLevel(level)
    print(f"Machine: {machine()}")
    print(format_table(rows))
    passed, failed = verdict(rows)
    print(f"\n{passed} targets passed, {failed} failed")
    if doc is not None:
        command = " ".join(["python -m bench", shlex.join(args.argv)]).strip()
        write_section(doc, rows, command, started.strftime("%Y-%m-%d %H:%M UTC"), machine())
        print(f"wrote {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
