"""The ChatGPT plan's usage windows, as the Codex backend reports them on every model call.

The `x-codex-*` headers (the names the official Codex client parses) are read leniently into a
frozen `UsageSnapshot`, kept in memory per ChatGPT account (bounded, least recently seen dropped).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from authai_embed.providers._lenient import short_text
from authai_embed.providers.plan import PlanCredits

__all__ = ["SNAPSHOT_LIMIT", "LimitWindow", "UsageSnapshot", "UsageSnapshots"]

SNAPSHOT_LIMIT: Final = 10_000
"""Accounts remembered per `AuthAI`; the least recently seen is forgotten first."""
_PREFIX: Final = "x-codex"


@dataclass(frozen=True, slots=True)
class LimitWindow:
    """One usage window: how much of it is used, how long it is, and when it resets."""

    used_percent: float
    window_minutes: int | None
    resets_at: int | None
    """Unix seconds; from `-reset-at`, else `-reset-after-seconds` counted from when it was seen."""


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """What the last model call of one account said about its plan's limits.

    `primary` is the short window (5 hours today), `secondary` the long one (a week);
    either is `None` when the answer did not carry it. `plan_type` comes from the account's
    token or a usage-limit answer; `seen_at` is when the answer came (Unix seconds).
    """

    primary: LimitWindow | None
    secondary: LimitWindow | None
    credits: PlanCredits | None
    plan_type: str | None
    active_limit: str | None
    seen_at: float
    refusal: bool = False
    """Made from a usage-limit refusal (its windows say when the limit resets)."""

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], now: float, *, plan_type: str | None = None
    ) -> UsageSnapshot | None:
        """The snapshot the `x-codex-*` headers give (`headers` must look names up without
        regard to case, as `httpx.Headers` does); `None` when they give no window and no
        credits. Unreadable values are skipped, never an error."""
        primary = _window(headers, "primary", now)
        secondary = _window(headers, "secondary", now)
        credits = _credits(headers)
        if primary is None and secondary is None and credits is None:
            return None
        return cls(
            primary=primary,
            secondary=secondary,
            credits=credits,
            plan_type=plan_type,
            active_limit=short_text(headers.get(f"{_PREFIX}-active-limit")),
            seen_at=now,
        )


class UsageSnapshots:
    """The latest `UsageSnapshot` per account, at most `limit` of them; safe across threads."""

    def __init__(self, limit: int = SNAPSHOT_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, UsageSnapshot] = OrderedDict()

    def put(self, account_id: str, snapshot: UsageSnapshot) -> None:
        """Remember `snapshot` as the account's latest."""
        with self._lock:
            self._snapshots[account_id] = snapshot
            self._snapshots.move_to_end(account_id)
            while len(self._snapshots) > self._limit:
                self._snapshots.popitem(last=False)

    def get(self, account_id: str) -> UsageSnapshot | None:
        """The account's latest snapshot, or `None` before its first model call."""
        with self._lock:
            return self._snapshots.get(account_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._snapshots)


def _window(headers: Mapping[str, str], name: str, now: float) -> LimitWindow | None:
    used = _float(headers.get(f"{_PREFIX}-{name}-used-percent"))
    if used is None:
        return None
    resets_at = _int(headers.get(f"{_PREFIX}-{name}-reset-at"))
    after = _int(headers.get(f"{_PREFIX}-{name}-reset-after-seconds"))
    if resets_at is None and after is not None and after >= 0:
        resets_at = int(now) + after
    minutes = _int(headers.get(f"{_PREFIX}-{name}-window-minutes"))
    return LimitWindow(used, minutes if minutes is None or minutes > 0 else None, resets_at)


def _credits(headers: Mapping[str, str]) -> PlanCredits | None:
    has = _bool(headers.get(f"{_PREFIX}-credits-has-credits"))
    unlimited = _bool(headers.get(f"{_PREFIX}-credits-unlimited"))
    if has is None or unlimited is None:
        return None
    return PlanCredits(has, unlimited, short_text(headers.get(f"{_PREFIX}-credits-balance")))


def _float(raw: str | None) -> float | None:
    try:
        value = float(raw.strip()) if raw is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value <= 1000 else None


def _int(raw: str | None) -> int | None:
    raw = raw.strip() if raw is not None else ""
    if raw.isascii() and raw.lstrip("-").isdecimal() and len(raw) <= 12:
        return int(raw)
    return None


def _bool(raw: str | None) -> bool | None:
    value = (raw or "").strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None
