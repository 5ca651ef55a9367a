"""Time as a seam: code asks an injected `Clock`, so tests move time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Something that tells the current time in Unix seconds."""

    def now(self) -> float:
        """Return the current time in seconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock."""

    __slots__ = ()

    def now(self) -> float:
        """Return `time.time()`."""
        return time.time()
