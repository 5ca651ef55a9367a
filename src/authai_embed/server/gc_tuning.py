"""The garbage collector's settings for a serving process; `authai-embed serve` applies them in
each worker once its app is built.

Two changes from CPython's defaults, both measured on one worker under load (the garbage
collection notes of docs/performance.md, "Fairness and overload"):

- `gc.freeze()` once the app is built: the tens of thousands of objects that imports and
  start-up leave behind move to a generation the collector never walks again, so a full
  collection under load walks what requests keep alive, not every module (it stopped the
  whole worker for 30 to 40 ms before, every few seconds, under load);
- a first-generation threshold of 10,000 allocations instead of 700: with tens of requests in
  flight, every young collection walks their live objects and promotes them, so most of the
  collector's work was on objects that were about to be freed by their reference count. Fewer,
  larger young collections cost about a quarter of the CPU.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_gc"]

YOUNG_THRESHOLD = 10_000


def tune_gc(young: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze what is left, and raise the first generation's threshold to `young`
    allocations (never lowering one set higher before); the older generations' stay."""
    gc.collect()
    gc.freeze()
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, young), second, third)
