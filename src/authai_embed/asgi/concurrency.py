"""The per-user concurrency cap on `/v1`: how many calls one user may have in flight at once.

A rate limit bounds how often a user starts calls; it does not bound how many run at the same
time, and a slow upstream turns a burst into hundreds of open calls that hold the upstream pool
and the event loop for everyone. The cap counts a user's open calls across all their sessions;
the call past it is answered at once with 429 and `Retry-After: 1` rather than queued. Counts
live in this process only: each worker caps its own share (see docs/operations.md).
"""

from __future__ import annotations

from authai_embed._util.logs import get_logger
from authai_embed.errors import RateLimited

__all__ = ["ConcurrencyCap", "Slot"]

logger = get_logger("limits")


class ConcurrencyCap:
    """Counts each user's open `/v1` calls; `limit` `None` or 0 counts nothing (no cap)."""

    __slots__ = ("_active", "_limit")

    def __init__(self, limit: int | None) -> None:
        self._limit = limit or 0
        self._active: dict[str, int] = {}

    @property
    def limit(self) -> int | None:
        """The most calls one user may have open at once, or `None` when there is no cap."""
        return self._limit or None

    def in_flight(self, user_id: str | None = None) -> int:
        """Open calls of `user_id`, or of everyone (what a leak would show as non-zero)."""
        if user_id is None:
            return sum(self._active.values())
        return self._active.get(user_id, 0)

    def slot(self) -> Slot:
        """An empty slot for one request: `take` it once the user is known, `release` it when
        the answer is over (stream end, disconnect or error alike)."""
        return Slot(self)

    def _take(self, user_id: str) -> None:
        held = self._active.get(user_id, 0)
        if held >= self._limit:
            logger.info("concurrency cap reached: %d calls in flight", held)
            message = (
                f"too many concurrent requests: at most {self._limit} calls may be in flight"
                " at once per user (max_concurrent_per_user); retry after 1 s"
            )
            raise RateLimited(retry_after=1, reason=message)
        self._active[user_id] = held + 1

    def _release(self, user_id: str) -> None:
        held = self._active.get(user_id, 0) - 1
        if held > 0:
            self._active[user_id] = held
        else:  # no entry for a user with nothing open: the dict stays as small as the load
            self._active.pop(user_id, None)


class Slot:
    """One request's place under the cap; `release` is idempotent and safe when never taken."""

    __slots__ = ("_cap", "_user")

    def __init__(self, cap: ConcurrencyCap) -> None:
        self._cap = cap
        self._user: str | None = None

    def take(self, user_id: str) -> None:
        """Count this request against `user_id`; `RateLimited` when they are at the cap."""
        if self._cap._limit and self._user is None:
            self._cap._take(user_id)
            self._user = user_id

    def release(self) -> None:
        """Give the place back (a no-op when not held)."""
        if self._user is not None:
            user, self._user = self._user, None
            self._cap._release(user)
