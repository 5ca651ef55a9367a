"""The results table (terminal and Markdown), the machine description, the plot, the doc."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Row", "Target", "format_table", "machine", "markdown_table", "plot", "verdict"]

Kind = Literal["added<=", "<=", "ratio>=", "ratio<=", "=="]


@dataclass(frozen=True, slots=True)
class Target:
    """A pass mark: `added<=` (ours minus direct), `<=` / `==` (ours), `ratio>=` / `ratio<=`
    (ours/direct)."""

    kind: Kind
    limit: float

    def check(self, ours: float, direct: float | None) -> bool:
        if self.kind == "<=":
            return ours <= self.limit
        if self.kind == "==":
            return ours == self.limit
        if direct is None:
            raise ValueError(f"target {self.kind} needs a direct figure")
        if self.kind == "added<=":
            return ours - direct <= self.limit
        if self.kind == "ratio<=":
            return direct > 0 and ours / direct <= self.limit
        return direct > 0 and ours / direct >= self.limit

    def describe(self, unit: str) -> str:
        limit = _number(self.limit)
        if self.kind == "added<=":
            return f"added ≤ {limit} {unit}"
        if self.kind == "ratio<=":
            return f"≤ {limit}x direct"
        if self.kind == "ratio>=":
            return f"≥ {self.limit:.0%} of direct" if self.limit < 1 else f"≥ {limit}x direct"
        if self.kind == "==":
            return f"= {limit}"
        return f"≤ {limit} {unit}"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table. `direct` is the baseline in the same unit (None: no baseline)."""

    section: str
    name: str
    ours: float | None
    unit: str
    direct: float | None = None
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.direct is None or self.direct == 0:
            return None
        return self.ours / self.direct

    @property
    def result(self) -> str:
        if self.target is None:
            return ""
        if self.ours is None:
            return "n/a"
        return "PASS" if self.target.check(self.ours, self.direct) else "FAIL"


def _number(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cells(row: Row) -> list[str]:
    ours = "—" if row.ours is None else f"{_number(row.ours)} {row.unit}".strip()
    direct = "—" if row.direct is None else f"{_number(row.direct)} {row.unit}".strip()
    ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
    target = "" if row.target is None else row.target.describe(row.unit)
    name = f"{row.name} ({row.note})" if row.note else row.name
    return [name, ours, direct, ratio, target, row.result]


HEADER = ["Measurement", "Ours", "Direct", "Ratio", "Target", "Result"]


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table, one block per section."""
    cells = [_cells(row) for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADER)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(HEADER), line(["-" * w for w in widths])]
    section = None
    for row, values in zip(rows, cells, strict=True):
        if row.section != section:
            section = row.section
            out.append(f"[{section}]")
        out.append(line(values))
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    """The same table in Markdown, the section as the first column."""
    out = ["| Section | " + " | ".join(HEADER) + " |", "|" + "---|" * (len(HEADER) + 1)]
    for row in rows:
        values = [v.replace("|", "\\|") for v in _cells(row)]
        out.append(f"| {row.section} | " + " | ".join(values) + " |")
    return "\n".join(out)


def verdict(rows: Sequence[Row]) -> tuple[int, int]:
    """(passed, failed) among the rows with a target."""
    results = [row.result for row in rows if row.target is not None]
    return results.count("PASS"), results.count("FAIL")


def machine() -> str:
    """CPU model and count (from /proc/cpuinfo), memory, OS, Python, load at the start."""
    model, cpus = platform.processor() or "unknown CPU", os.cpu_count() or 0
    try:
        info = Path("/proc/cpuinfo").read_text()
        names = [
            ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")
        ]
        if names:
            model, cpus = names[0], len(names)
    except OSError:
        pass
    memory = ""
    try:
        for ln in Path("/proc/meminfo").read_text().splitlines():
            if ln.startswith("MemTotal:"):
                memory = f", {int(ln.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    python = f"{platform.python_implementation()} {sys.version.split()[0]}"
    return (
        f"{model} x {cpus} CPUs{memory}, {platform.system()} {platform.release()}, {python}{load}"
    )


def plot(series: dict[str, dict[int, tuple[float, float]]], path: Path) -> bool:
    """Latency p50 and requests/s vs concurrency, one line per server; False without
    matplotlib. `series`: name -> concurrency -> (p50 ms, requests/s)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (latency, rate) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, points in series.items():
        levels = sorted(points)
        latency.plot(levels, [points[c][0] for c in levels], marker="o", label=name)
        rate.plot(levels, [points[c][1] for c in levels], marker="o", label=name)
    for axis, title, unit in (
        (latency, "Latency p50 of a streamed completion", "ms"),
        (rate, "Throughput", "requests/s"),
    ):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    latency.set_yscale("log")
    latency.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
