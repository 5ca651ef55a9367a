"""The runs that stand apart from the main table: `--scale` (open streams), `--soak`
(minutes of mixed traffic) and `--instructions` (the CPU of a request counted by callgrind).
Each prints its own table with PASS/FAIL and writes its own section of docs/performance.md.
(`--fairness`, per-user concurrency under overload, belongs here too.)"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .instructions import (
    INSTRUCTIONS_HOW,
    instruction_rows,
    measure_instructions,
    valgrind_missing,
)
from .report import Row, format_table, machine, verdict
from .scale import Pacing, measure_scale, scale_rows, scale_series
from .scale_report import SCALE_HOW, SOAK_HOW, plot_streams, write_section
from .soak import run_soak, soak_rows

__all__ = ["EXTRA_RUNS", "add_extra_options", "run_extras"]

EXTRA_RUNS = ("scale", "soak", "instructions")
FULL_LEVELS = [1000, 5000]
QUICK_LEVELS = [100, 300]
FULL_PACING = Pacing(ttft=0.3, rate=50.0, events=250)
QUICK_PACING = Pacing(ttft=0.3, rate=50.0, events=100)
FULL_SOAK = (600.0, 60.0)
QUICK_SOAK = (30.0, 5.0)
FULL_COUNT = (100, 20)  # --instructions: requests counted, warm-up requests
QUICK_COUNT = (10, 5)


def _levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def add_extra_options(parser: argparse.ArgumentParser) -> None:
    """`--scale`, `--soak`, `--instructions` and their sizes."""
    parser.add_argument(
        "--scale", action="store_true", help="open streams: memory, delay, CPU per event"
    )
    parser.add_argument(
        "--streams",
        type=_levels,
        default=None,
        help="open-stream levels for --scale (default 1000,5000; --quick: 100,300)",
    )
    parser.add_argument("--soak", action="store_true", help="minutes of mixed traffic: leaks")
    parser.add_argument(
        "--soak-seconds",
        type=float,
        default=None,
        help="length of --soak (default 600; --quick: 30)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instructions per proxied request under valgrind's callgrind (noise-free CPU)",
    )


def run_extras(args: argparse.Namespace, extras: list[str], doc: Path | None) -> int:
    """Run each selected extra, print its table and verdict, write its section of `doc`.
    Return 2, having run nothing, when `--instructions` is asked for without valgrind."""
    missing = valgrind_missing() if "instructions" in extras else None
    if missing:
        print(f"python -m bench --instructions needs valgrind: {missing}", file=sys.stderr)
        return 2
    command = " ".join(["python -m bench", shlex.join(args.argv)]).strip()
    for name in extras:
        started, clock = datetime.now(UTC), time.perf_counter()
        where = machine()
        image: Path | None = None
        rows: list[Row]
        if name == "scale":
            pacing = QUICK_PACING if args.quick else FULL_PACING
            levels = args.streams or (QUICK_LEVELS if args.quick else FULL_LEVELS)
            result = measure_scale(levels, pacing)
            rows, title, how = scale_rows(result), "Open streams", SCALE_HOW
            if doc is not None:
                image = doc.with_name(doc.stem + "-streams.png")
                if not plot_streams(scale_series(result), image):
                    image = None
        elif name == "soak":
            seconds, refresh = QUICK_SOAK if args.quick else FULL_SOAK
            seconds = args.soak_seconds or seconds
            rows, title, how = soak_rows(run_soak(seconds, refresh_every=refresh)), "Soak", SOAK_HOW
        else:
            requests, warmup = QUICK_COUNT if args.quick else FULL_COUNT
            counts = measure_instructions(requests, warmup)
            rows, title, how = (
                instruction_rows(counts),
                "Instructions per request",
                INSTRUCTIONS_HOW,
            )
        elapsed = time.perf_counter() - clock
        print(f"Machine: {where}")
        print(format_table(rows))
        passed, failed = verdict(rows)
        print(f"\n{name}: {passed} targets passed, {failed} failed ({elapsed:.0f} s)")
        if doc is not None:
            write_section(
                doc,
                name,
                title,
                rows,
                command=command,
                started=started,
                seconds=elapsed,
                machine=where,
                how=how,
                image=image,
            )
            print(f"wrote the {title.lower()} section of {doc}")
    return 0
