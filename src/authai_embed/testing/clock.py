"""A clock that only moves when a test moves it, so expiry is tested without sleeping."""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    """A `Clock` whose time is a plain float that tests set or advance.

    It never moves on its own: code under test sees exactly the instant the test chose.
    """

    __slots__ = ("_now",)

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The current (manual) time in Unix seconds."""
        return self._now

    def set(self, when: float) -> None:
        """Jump to `when` (Unix seconds); going back in time is allowed, for clock-skew tests."""
        self._now = float(when)

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` and return the new time; a negative step is a test bug."""
        if seconds < 0:
            raise ValueError("ManualClock.advance needs a non-negative step; use set() to go back")
        self._now += seconds
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
