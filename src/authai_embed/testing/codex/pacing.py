"""Pacing a long answer as a real model streams one: a first token after a while, then events at
a steady rate, each text delta optionally stamped with the moment it was sent.

The stamp lets a client measure the delay an event picks up on its way (through a proxy or not):
arrival time minus the stamp. Both sides read `time.time()`, which every process on one machine
shares.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import anyio

from authai_embed.testing.model.stream import Frame

__all__ = ["STAMP_PLACEHOLDER", "STAMP_PREFIX", "paced", "stamp_text"]

STAMP_PREFIX = "T"
STAMP_PLACEHOLDER = STAMP_PREFIX + "#" * 17 + " "
"""One stamped delta before it is sent: `T`, room for `%017.6f` of `time.time()`, a space."""
_HOLE = STAMP_PLACEHOLDER[1:-1].encode()
_DELTA = "response.output_text.delta"


def stamp_text(events: int) -> str:
    """The text of an answer of `events` stamped deltas (with `chunk_size` = its length each)."""
    return STAMP_PLACEHOLDER * events


async def paced(
    frames: Sequence[Frame], *, first_delay: float, per_second: float, stamp: bool
) -> AsyncIterator[tuple[str, bytes]]:
    """Yield `frames` on a schedule: the first after `first_delay`, then one every
    `1 / per_second` seconds from it (a fixed schedule, so a slow consumer does not push later
    events further back); each text delta's placeholder replaced by its send time if `stamp`."""
    if first_delay > 0:
        await anyio.sleep(first_delay)
    start = time.monotonic()
    interval = 1.0 / per_second
    for number, (kind, frame) in enumerate(frames):
        wait = start + number * interval - time.monotonic()
        if wait > 0:
            await anyio.sleep(wait)
        if stamp and kind == _DELTA:
            frame = frame.replace(_HOLE, b"%017.6f" % time.time(), 1)
        yield kind, frame
