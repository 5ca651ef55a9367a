"""Pure helpers for turning timings into figures: percentiles, summaries, unit conversions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "percentile", "summarize"]


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) by linear interpolation between closest ranks.

    `ValueError` for an empty sequence or `q` outside 0..100: a figure without samples is a bug
    in the harness, not a number to print.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


@dataclass(frozen=True, slots=True)
class Summary:
    """p50 / p99 / mean of one series of samples (same unit as the samples)."""

    count: int
    p50: float
    p99: float
    mean: float


def summarize(values: Sequence[float]) -> Summary:
    """The `Summary` of `values` (non-empty)."""
    return Summary(
        count=len(values),
        p50=percentile(values, 50),
        p99=percentile(values, 99),
        mean=sum(values) / len(values),
    )
