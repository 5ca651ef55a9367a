"""The short soak (`bench/soak.py`) as a leak test: one served worker under mixed traffic for
about 30 s (sign-ins, plain and streamed calls, clients leaving mid-stream, refreshes) must end
with its file descriptors and asyncio tasks back at the baseline and bounded memory growth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RSS_BOUND_KIB = 4096
"""A leak of a few KiB per request over the run's ~1,000 requests shows here; allocator and
SQLite cache noise over 30 s stays well under it."""


def test_a_short_soak_leaves_no_descriptor_task_or_memory_behind() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-m", "bench.soak", "30", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["unexpected_count"] == 0, result["unexpected"]
    requests = result["requests"]
    assert set(requests) == {"sign_in", "plain", "stream", "leave"}
    assert min(requests.values()) > 0
    assert result["refreshes"] > 0
    fds_baseline, fds_end = result["fds"]
    tasks_baseline, tasks_end = result["tasks"]
    assert fds_end <= fds_baseline
    assert tasks_end <= tasks_baseline
    assert result["rss_growth_kib"] <= RSS_BOUND_KIB
