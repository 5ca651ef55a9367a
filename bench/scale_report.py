"""The `--scale` and `--soak` sections of docs/performance.md, and the open-streams plot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .docregions import write_region
from .report import Row, markdown_table, verdict

__all__ = ["SCALE_HOW", "SOAK_HOW", "plot_streams", "write_section"]

SCALE_HOW = """\
- Each server in its own process on 127.0.0.1: the emulator (uvicorn, 1 worker) pacing every
  answer (`first_byte_delay`, `events_per_second`, `answer_events`, `stamp_events`: see
  [the emulator's pacing knobs](testing.md#pacing-a-long-answer)), and our app on one uvicorn
  worker with a SQLite store, both started afresh for each level (no level starts from a heap
  an earlier one grew). At each level the same number of streams goes straight to the
  emulator (direct), then through our app (ours), opened evenly over half an answer's length:
  twice the rate at which new answers must come to keep that many of this length open, and all
  of them are open together before the first ends. (Until 2026-12-06 09:30 they were opened at
  up to 2,000 a second, faster than one worker here answers requests at all: each level then
  also measured a queue of openings, its memory and delays included.)
  Every stream through our app holds an upstream connection, so the app's upstream pool is
  raised past the level (`UpstreamTransport(max_connections=...)`; the default cap of
  256 per origin would queue the rest).
- The load comes from `bench/streams.py`: one process, raw asyncio sockets, one connection per
  stream; a stream counts as complete when its status is 200 and its last event (`[DONE]`,
  `response.completed` direct) arrived. The bench raises the open-file limit to the hard limit.
- **Memory per open stream** is the peak RSS of our worker during the level minus its RSS
  before, over the number of streams (after a warm-up wave, so first-time allocations do not
  count); the emulator runs in its own process, so its memory is not in ours.
- **Delay per event** is each text delta's arrival time at the load generator minus the send
  time the emulator stamped in it. Direct measures the emulator, loopback and the load
  generator; ours adds the mount. The added p99 is ours minus direct at the same level.
- **CPU per event** is our worker's user + system time during the level over the events
  delivered; direct is the emulator's own during the direct run.
- **uvicorn alone** is the floor under these figures: at each level, once the emulator and our
  app are stopped, the same streams go to a one-worker uvicorn serving a trivially paced ASGI
  stream (`bench/scale_floor.py`: as many small stamped events at the same rate, nothing of
  ours). Its memory per open stream is uvicorn's own (connection, parser, request cycle, one
  task); "above uvicorn alone" is ours minus it. Its delay p99 is what the box allows at that
  level with almost no work per event: a target below it cannot be met here. It runs with the
  collector settings of every other server here (`authai-embed serve`'s); until 2026-12-06
  23:00 it ran on CPython's defaults, whose full collections, 30-40 ms each, made most of its
  p99 (36.6 ms at 1,000 streams at 21:10 that day; 19.9 ms on the same code tuned, on another
  VM).
- Every server (the emulator, our app, uvicorn alone) runs on the same event loop, named on
  its command line: asyncio's own, or uvloop with `AUTHAI_BENCH_LOOP=uvloop`; the memory row's
  note says which. Until 2026-12-06 the emulator was started with uvicorn's `auto` and so ran
  on uvloop whenever it was installed while our app ran on asyncio: the runs of that day
  before 04:30 carry that mix under a note that says uvloop.
- On a machine whose cores are shared, every figure here is an upper bound: a stream's events
  wait for a core as well as for our code. At 1,000 streams of 50 events a second a worker
  handles 50,000 events a second; at about 15 µs an event it is busy three quarters of every
  second on its core alone, so events queue behind each other."""

SOAK_HOW = """\
- The same two processes as the open-streams section; the emulator answers in about 0.35 s
  (60 deltas at 200 a second) and issues access tokens that the mount refreshes every
  refresh interval (each of eight signed-in users, on eight accounts).
- Eight clients in one process loop over a fixed mix: streamed calls read to the end, plain
  calls, clients leaving after the first bytes of a stream, and whole device-flow sign-ins.
- **RSS growth** is the median RSS of the last tenth of the run minus that of the first
  tenth after the warm-up (a fifth of the run, at most 60 s); a run of 10 minutes or more
  states it per 10 minutes. **File descriptors** are our worker's (`/proc/PID/fd`), **tasks**
  `len(asyncio.all_tasks())` in our worker (`GET /bench/tasks` on the bench's host app): the
  baseline after one request of every kind with no client connected, the end once the
  clients have closed (up to 20 s for closed connections to be noticed).
- `tests/test_leak.py` runs a 30-second soak in CI and checks the same things."""


def plot_streams(series: dict[int, tuple[float, float | None, float | None]], path: Path) -> bool:
    """Memory per stream and delay p99 against open streams; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    levels = sorted(series)
    fig, (memory, delay) = plt.subplots(1, 2, figsize=(11, 4.2))
    memory.plot(levels, [series[n][0] for n in levels], marker="o", label="ours, 1 worker")
    memory.axhline(32, color="grey", linestyle="--", label="target")
    for index, label in ((1, "ours, 1 worker"), (2, "emulator alone (direct)")):
        values = [series[n][index] for n in levels]
        delay.plot(
            levels, [float("nan") if v is None else v for v in values], marker="o", label=label
        )
    for axis, title, unit in (
        (memory, "Memory per open stream (RSS growth)", "KiB"),
        (delay, "Delay per event p99 (arrival - send stamp)", "ms"),
    ):
        axis.set_xscale("log")
        axis.set_xlabel("open streams")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
        axis.legend()
    memory.set_ylim(bottom=0)
    delay.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_section(
    doc: Path,
    name: str,
    title: str,
    rows: Sequence[Row],
    *,
    command: str,
    started: datetime,
    seconds: float,
    machine: str,
    how: str,
    image: Path | None = None,
) -> None:
    """Write one run's section (`## title`, its table and how it is measured) into `doc`."""
    passed, failed = verdict(rows)
    picture = (
        f"\n![Memory and delay per event against open streams]({image.name})\n" if image else ""
    )
    targets = f"Targets: {passed} passed, {failed} failed." if passed or failed else "No targets."
    body = f"""## {title}

Generated by `{command}`; {started.strftime("%Y-%m-%d %H:%M UTC")} ({seconds:.0f} s) on {machine}.
{targets}

{markdown_table(rows)}
{picture}
How it is measured:

{how}
"""
    write_region(doc, name, body)
