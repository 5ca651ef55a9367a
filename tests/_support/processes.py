"""Run test workers in separate, freshly spawned interpreters, released together."""

from __future__ import annotations

import multiprocessing
from typing import Any

JOIN_TIMEOUT = 120.0


def run_processes(target: Any, args_per_process: list[tuple[Any, ...]]) -> list[int | None]:
    """Start one spawned process per args tuple, each given a shared barrier as its last
    argument so they can start their work together; wait for all and return their exit codes.
    A process still running after `JOIN_TIMEOUT` seconds is killed and fails the test."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args_per_process))
    processes = [context.Process(target=target, args=(*args, barrier)) for args in args_per_process]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=JOIN_TIMEOUT)
    hung = [n for n, process in enumerate(processes) if process.is_alive()]
    for n in hung:
        processes[n].kill()
        processes[n].join()
    assert not hung, f"worker processes {hung} still ran after {JOIN_TIMEOUT:.0f} s; killed"
    return [process.exitcode for process in processes]
