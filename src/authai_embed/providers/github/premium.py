"""Copilot premium requests per user, counted as the calls go out (in memory, per process).

Copilot bills a "premium request" for each turn a person typed (`X-Initiator: user`) on a model
whose catalog entry says `billing.is_premium`, weighted by its `billing.multiplier`; tool
follow-ups (`agent`) and the base models cost nothing. Counters reset on the 1st of each month
at 00:00 UTC, as GitHub's do. Copilot's answers also carry the account's own figures in
`x-quota-snapshot-premium_interactions` (`ent=300&rem=95.7&rst=...`: the monthly entitlement,
the percentage left, the reset time); the latest ones are kept alongside.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import parse_qsl

import httpx

from authai_embed._util.clock import Clock

__all__ = ["QUOTA_HEADERS", "PremiumRequests", "PremiumUsage", "Quota", "quota_of"]

QUOTA_HEADERS: Final = (
    "x-quota-snapshot-premium_interactions",
    "x-quota-snapshot-premium_models",
)
"""Where Copilot reports the premium quota on a model answer (the first found is read)."""
USERS_LIMIT: Final = 10_000
"""Accounts tracked at most; the least recently active one is dropped past it."""
_HEADER_LIMIT: Final = 1024


@dataclass(frozen=True, slots=True)
class Quota:
    """What one answer's quota header said."""

    allowed: float | None
    unlimited: bool
    remaining_percent: float | None
    resets_at: float | None


@dataclass(frozen=True, slots=True)
class PremiumUsage:
    """One account's premium requests in the current month (UTC), as this process saw them.

    `requests` counts the user turns sent to premium models and accepted; `used` weighs them by
    each model's multiplier (premium requests as GitHub bills them). `allowed`,
    `remaining_percent` and `resets_at` (Unix s) are what Copilot last reported for the
    account this month (`None` until it has; `allowed` is also `None` when `unlimited`).
    Other processes, and the user's own editor, spend from the same quota: `remaining_percent`
    is the account's, `used` only this process's share.
    """

    month: str
    """The month counted, `YYYY-MM` in UTC."""
    requests: int = 0
    used: float = 0.0
    allowed: float | None = None
    unlimited: bool = False
    remaining_percent: float | None = None
    resets_at: float | None = None


def _month(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m")


class PremiumRequests:
    """Per-account premium-request counters (keyed by the GitHub account id), bounded to the
    `limit` most recently active accounts. Not shared between processes."""

    def __init__(self, clock: Clock, limit: int = USERS_LIMIT) -> None:
        self._clock = clock
        self._limit = limit
        self._usage: OrderedDict[str, PremiumUsage] = OrderedDict()

    def snapshot(self, account_id: str) -> PremiumUsage:
        """The account's figures this month (zeros for an account not seen this month)."""
        month = _month(self._clock.now())
        usage = self._usage.get(account_id)
        return usage if usage is not None and usage.month == month else PremiumUsage(month)

    def count(self, account_id: str, multiplier: float) -> None:
        """One user turn on a premium model costing `multiplier` premium requests."""
        usage = self.snapshot(account_id)
        self._put(
            account_id, replace(usage, requests=usage.requests + 1, used=usage.used + multiplier)
        )

    def report(self, account_id: str, quota: Quota) -> None:
        """Keep what Copilot reported for the account."""
        usage = self.snapshot(account_id)
        self._put(
            account_id,
            replace(
                usage,
                allowed=quota.allowed,
                unlimited=quota.unlimited,
                remaining_percent=quota.remaining_percent,
                resets_at=quota.resets_at,
            ),
        )

    def _put(self, account_id: str, usage: PremiumUsage) -> None:
        self._usage[account_id] = usage
        self._usage.move_to_end(account_id)
        while len(self._usage) > self._limit:
            self._usage.popitem(last=False)


def quota_of(headers: httpx.Headers) -> Quota | None:
    """The premium quota a Copilot answer reports (`QUOTA_HEADERS`), or `None`: no header, or
    one that says nothing readable. Fields that do not parse are left out, never guessed."""
    value = next((headers[name] for name in QUOTA_HEADERS if name in headers), None)
    if value is None or len(value) > _HEADER_LIMIT:
        return None
    fields = dict(parse_qsl(value.replace(";", "&")))
    entitlement = _number(fields.get("ent"))
    remaining = _number(fields.get("rem"))
    resets_at = _time(fields.get("rst"))
    if entitlement is None and remaining is None and resets_at is None:
        return None
    unlimited = entitlement is not None and entitlement < 0
    allowed = entitlement if entitlement is not None and entitlement >= 0 else None
    if remaining is not None:
        remaining = min(100.0, max(0.0, remaining))
    return Quota(allowed, unlimited, remaining, resets_at)


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None and len(text) <= 32 else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _time(text: str | None) -> float | None:
    if text is None or len(text) > 64:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()
