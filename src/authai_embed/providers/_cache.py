"""A per-account cache of model catalogs: fresh for `MODELS_TTL` seconds, bounded in size.

Catalogs differ by plan, so they are kept per account; the bound drops the oldest entry so
the cache cannot grow with the number of accounts ever seen.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["MODELS_TTL", "ModelCache"]

MODELS_TTL = 300.0
_LIMIT = 4096

V = TypeVar("V")


class ModelCache(Generic[V]):
    """What was stored for an account less than `ttl` seconds ago, at most `limit` accounts."""

    def __init__(self, ttl: float = MODELS_TTL, limit: int = _LIMIT) -> None:
        self._ttl = ttl
        self._limit = limit
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str, now: float) -> V | None:
        """The value stored for `key` if it is still fresh at `now`, else `None`."""
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        return None

    def put(self, key: str, now: float, value: V) -> None:
        """Store `value` for `key` as of `now`, dropping the oldest entry when full."""
        if key not in self._entries and len(self._entries) >= self._limit:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (now, value)
