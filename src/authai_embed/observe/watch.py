"""What `/v1` outcomes mean over time: users at a provider's limit, and bursts of upstream errors.

Both remember in memory, per process, within bounds: `LimitWatch` the users last limited (for
`limit_reset`), `ErrorBursts` each provider's recent failure times (for `provider_error_burst`).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Final

from authai_embed.events import LimitReached, LimitReset, ProviderErrorBurst

__all__ = ["BURST_ERRORS", "BURST_WINDOW", "MAX_LIMITED", "ErrorBursts", "LimitWatch"]

BURST_ERRORS: Final = 5
"""Upstream failures of one provider that make a burst..."""
BURST_WINDOW: Final = 60.0
"""...within this many seconds; one `provider_error_burst` per provider per window at most."""
MAX_LIMITED: Final = 10_000
"""Limited users remembered at most (the oldest are forgotten: no `limit_reset` for them)."""


class LimitWatch:
    """Users whose calls a provider limited, until a call of theirs succeeds after the reset."""

    __slots__ = ("_limited",)

    def __init__(self) -> None:
        self._limited: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        """Users limited now (none: no call can end a limit)."""
        return len(self._limited)

    def reached(
        self, user_id: str, provider: str, now: float, code: str | None, retry_after: float | None
    ) -> LimitReached:
        """Note a limited call; its event."""
        key = (user_id, provider)
        self._limited[key] = now + (retry_after or 0.0)
        self._limited.move_to_end(key)
        if len(self._limited) > MAX_LIMITED:
            self._limited.popitem(last=False)
        return LimitReached(user_id, provider, now, code, retry_after)

    def succeeded(self, user_id: str, provider: str, now: float) -> LimitReset | None:
        """A call that worked: the `LimitReset` when it ends a limit past its reset time."""
        if not self._limited:
            return None
        key = (user_id, provider)
        reset_at = self._limited.get(key)
        if reset_at is None or now < reset_at:
            return None
        del self._limited[key]
        return LimitReset(user_id, provider, now)


class ErrorBursts:
    """Counts each provider's upstream failures in a sliding window."""

    __slots__ = ("_failures", "_reported", "errors", "window")

    def __init__(self, errors: int = BURST_ERRORS, window: float = BURST_WINDOW) -> None:
        self.errors = errors
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._reported: dict[str, float] = {}

    def failed(self, provider: str, now: float) -> ProviderErrorBurst | None:
        """Note a failure; the event when it completes a burst not yet reported this window."""
        times = self._failures.setdefault(provider, deque(maxlen=self.errors))
        times.append(now)
        if len(times) < self.errors or now - times[0] > self.window:
            return None
        last = self._reported.get(provider)
        if last is not None and now - last < self.window:
            return None
        self._reported[provider] = now
        return ProviderErrorBurst(None, provider, now, len(times), self.window)
