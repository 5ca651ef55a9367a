"""Metering of one model call: its quota checked before dispatch, its usage counted after.

`Metering.begin` applies the user's quota (model allowlist, requests per minute, then a
reservation on the store's day counter with an estimate from the request's size, taken from
the process's `Allowance` when it holds one) and returns a `Meter`. The relay tells the meter
what the upstream reported; `Meter.close` hands the counts to the ledger, with the
reservation's settlement (real tokens minus the estimate).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from authai_embed._util.clock import Clock
from authai_embed.errors import ModelNotAllowed, QuotaExceeded
from authai_embed.stores.base import AuthStore
from authai_embed.usage.allowance import Allowance
from authai_embed.usage.ledger import UsageLedger
from authai_embed.usage.quotas import Quota, Quotas
from authai_embed.usage.tally import Tally, seconds_to_utc_midnight, tally_of, utc_day

__all__ = ["BYTES_PER_TOKEN", "Meter", "Metering", "PerMinute"]

PerMinute = Callable[[str, int], Awaitable[float]]
"""Counts one request against key under n per minute (the mount's rate limiter): 0 when
admitted, else the seconds to wait."""

BYTES_PER_TOKEN = 4
"""The reservation's estimate: a request of n bytes is taken for n / 4 input tokens."""


class Meter:
    """One call's outcome, handed to the ledger once by `close` (idempotent)."""

    __slots__ = ("_key", "_ledger", "_reserved", "closed", "errors", "rate_limited", "tally")

    def __init__(self, ledger: UsageLedger, key: tuple[str, str, str, str], reserved: int | None):
        self._ledger = ledger
        self._key = key
        self._reserved = reserved
        self.tally: Tally | None = None
        self.errors = 0
        self.rate_limited = 0
        self.closed = False

    def saw(self, usage: Any) -> None:
        """The upstream's `usage` object (either API's shape); anything else is ignored."""
        found = tally_of(usage)
        if found is not None:
            self.tally = found

    def fail(self, status: int = 502) -> None:
        """The call failed (once per call is counted); a 429 also counts as rate limited."""
        self.errors = 1
        if status == 429:
            self.rate_limited = 1

    def observe(self, event: Mapping[str, Any]) -> None:
        """A Responses stream event: the final `response` carries the usage; a failure counts."""
        kind = event.get("type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            response = event.get("response")
            if isinstance(response, Mapping):
                self.saw(response.get("usage"))
        if kind in ("response.failed", "error"):
            self.fail()

    def close(self) -> None:
        """Count the call in the ledger (once)."""
        if self.closed:
            return
        self.closed = True
        inputs, cached, outputs, reasoning = self.tally or (0, 0, 0, 0)
        settle = None if self._reserved is None else inputs + outputs - self._reserved
        counts = (1, inputs, cached, outputs, reasoning, self.errors, self.rate_limited)
        self._ledger.add(self._key, counts, settle)


class Metering:
    """The ledger and the quotas of one `AuthAI`."""

    __slots__ = (
        "_allowance",
        "_clock",
        "_day",
        "_day_ends",
        "_per_minute",
        "_quotas",
        "ledger",
        "on_exceeded",
    )

    def __init__(
        self,
        store: AuthStore,
        clock: Clock,
        ledger: UsageLedger,
        quotas: Quotas | None,
        per_minute: PerMinute,
    ) -> None:
        self._clock = clock
        self.ledger = ledger
        self._quotas = quotas
        self._per_minute = per_minute
        self._allowance: Allowance | None = None
        if quotas is not None:
            self._allowance = Allowance(store, ledger, quotas.calls_per_reservation)
        self._day, self._day_ends = "", -1.0  # today's name, until the next UTC midnight
        self.on_exceeded: Callable[[str, str, str], None] | None = None
        """Told `(user_id, provider, quota)` of each call a quota refuses (the mount's event)."""

    async def begin(self, user_id: str, provider: str, model: str, size: int) -> Meter:
        """Admit a call of `size` request bytes under the user's quota (raising
        `ModelNotAllowed` or `QuotaExceeded`) and return its meter."""
        now = self._clock.now()
        day = self._today(now)
        reserved = None
        quota = None if self._quotas is None else await self._quotas.of(user_id)
        if quota is not None:
            try:
                reserved = await self._admit(quota, user_id, model, day, size, now)
            except QuotaExceeded as exc:
                if self.on_exceeded is not None:
                    self.on_exceeded(user_id, provider, exc.quota)
                raise
        return Meter(self.ledger, (user_id, provider, model[:200], day), reserved)

    @property
    def reservations(self) -> int:
        """How many reservations were made on the store (the bench reports them per call)."""
        return 0 if self._allowance is None else self._allowance.reservations

    async def allowed_models(self, user_id: str) -> frozenset[str] | None:
        """The models `user_id` may call under their quota (`None`: any), so that listing the
        models shows only those."""
        quota = None if self._quotas is None else await self._quotas.of(user_id)
        return None if quota is None else quota.models

    def _today(self, now: float) -> str:
        """`utc_day(now)`, formatted once a day (a clock moved back is formatted again)."""
        if not self._day_ends - 86400 <= now < self._day_ends:
            self._day = utc_day(now)
            self._day_ends = (now // 86400 + 1) * 86400
        return self._day

    async def _admit(
        self, quota: Quota, user_id: str, model: str, day: str, size: int, now: float
    ) -> int | None:
        if quota.models is not None and model not in quota.models:
            raise ModelNotAllowed(model)
        if quota.requests_per_minute is not None:
            wait = await self._per_minute(f"quota:{user_id}", quota.requests_per_minute)
            if wait > 0:
                raise QuotaExceeded(
                    f"quota exceeded: {quota.requests_per_minute} requests per minute",
                    retry_after=max(1, math.ceil(wait)),
                    quota="requests_per_minute",
                )
        if not quota.daily or self._allowance is None:
            return None
        estimate = -(-size // BYTES_PER_TOKEN)
        if await self._allowance.take(user_id, day, estimate, quota):
            return estimate
        raise QuotaExceeded(
            f"quota exceeded: {_daily(quota)} (UTC); it resets at 00:00 UTC",
            retry_after=seconds_to_utc_midnight(now),
            quota="daily",
        )


def _daily(quota: Quota) -> str:
    parts = []
    if quota.requests_per_day is not None:
        parts.append(f"{quota.requests_per_day} requests per day")
    if quota.tokens_per_day is not None:
        parts.append(f"{quota.tokens_per_day} tokens per day")
    return " and ".join(parts)
