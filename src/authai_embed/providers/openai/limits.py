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

import httpx

from authai_embed.providers._lenient import short_text
from authai_embed.providers.plan import PlanCredits

__all__ = ["SNAPSHOT_LIMIT", "LimitWindow", "UsageSnapshot", "UsageSnapshots", "codex_headers"]

SNAPSHOT_LIMIT: Final = 10_000
"""Accounts remembered per `AuthAI`; the least recently seen is forgotten first."""
_PREFIX: Final = "x-codex"
_RAW_PREFIX: Final = b"x-codex-"


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
        if not _makes_snapshot(headers):
            return None
        return cls(
            primary=_window(headers, "primary", now),
            secondary=_window(headers, "secondary", now),
            credits=_credits(headers),
            plan_type=plan_type,
            active_limit=short_text(headers.get(_ACTIVE_LIMIT)),
            seen_at=now,
        )


@dataclass(frozen=True, slots=True)
class _Unread:
    """A model answer's `x-codex-*` headers (`codex_headers`), known to make a snapshot, not
    made into one yet."""

    codex: dict[str, str]
    seen_at: float
    plan_type: str | None

    def read(self) -> UsageSnapshot:
        snapshot = UsageSnapshot.from_headers(self.codex, self.seen_at, plan_type=self.plan_type)
        assert snapshot is not None  # `put_headers` checked
        return snapshot


class UsageSnapshots:
    """The latest `UsageSnapshot` per account, at most `limit` of them; safe across threads.

    A model answer's headers are made into a snapshot the first time it is asked for
    (`put_headers`): every model call carries them, and most are replaced by the next call's
    before anyone asks.
    """

    def __init__(self, limit: int = SNAPSHOT_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, UsageSnapshot | _Unread] = OrderedDict()

    def put(self, account_id: str, snapshot: UsageSnapshot) -> None:
        """Remember `snapshot` as the account's latest."""
        with self._lock:
            self._keep(account_id, snapshot)

    def put_headers(
        self, account_id: str, codex: dict[str, str], seen_at: float, plan_type: str | None
    ) -> bool:
        """Remember what the `x-codex-*` headers `codex` say (the snapshot
        `UsageSnapshot.from_headers` makes of them, made when first asked for), unless they
        make none (no window, no credits): then the previous snapshot stays. Whether they
        made one."""
        if not _makes_snapshot(codex):
            return False
        with self._lock:
            self._keep(account_id, _Unread(codex, seen_at, plan_type))
        return True

    def get(self, account_id: str) -> UsageSnapshot | None:
        """The account's latest snapshot, or `None` before its first model call."""
        with self._lock:
            entry = self._snapshots.get(account_id)
            if isinstance(entry, _Unread):
                entry = self._snapshots[account_id] = entry.read()
            return entry

    def _keep(self, account_id: str, entry: UsageSnapshot | _Unread) -> None:
        self._snapshots[account_id] = entry
        self._snapshots.move_to_end(account_id)
        while len(self._snapshots) > self._limit:
            self._snapshots.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._snapshots)


def codex_headers(headers: httpx.Headers) -> dict[str, str]:
    """The answer's `x-codex-*` headers, in one pass over them: lower-cased names to values,
    read as `httpx.Headers` reads them (its encoding; a repeated header's values joined with
    `", "`). Empty when there are none. A plain dict: `from_headers` looks each name up once,
    where every `httpx.Headers` lookup scans all the answer's headers."""
    found: dict[str, str] = {}
    for raw_name, raw_value in headers.raw:
        if raw_name[:8].lower() != _RAW_PREFIX:
            continue
        raw_name = raw_name.lower()  # bytes: ASCII letters only, as `httpx.Headers` compares
        if raw_name.isascii() and raw_value.isascii():
            name, value = raw_name.decode("ascii"), raw_value.decode("ascii")
        else:
            encoding = headers.encoding
            name, value = raw_name.decode(encoding), raw_value.decode(encoding)
        known = found.get(name)
        found[name] = value if known is None else f"{known}, {value}"
    return found


def _makes_snapshot(codex: Mapping[str, str]) -> bool:
    """Whether the headers give a snapshot (`UsageSnapshot.from_headers` is not `None`): a
    window's used percentage, or both credit flags, can be read."""
    return (
        _float(codex.get(_WINDOW_NAMES["primary"][0])) is not None
        or _float(codex.get(_WINDOW_NAMES["secondary"][0])) is not None
        or (_bool(codex.get(_HAS_CREDITS)) is not None and _bool(codex.get(_UNLIMITED)) is not None)
    )


def _names(window: str) -> tuple[str, str, str, str]:
    head = f"{_PREFIX}-{window}-"
    return (
        head + "used-percent",
        head + "reset-at",
        head + "reset-after-seconds",
        head + "window-minutes",
    )


_WINDOW_NAMES: Final = {window: _names(window) for window in ("primary", "secondary")}
_HAS_CREDITS: Final = f"{_PREFIX}-credits-has-credits"
_UNLIMITED: Final = f"{_PREFIX}-credits-unlimited"
_BALANCE: Final = f"{_PREFIX}-credits-balance"
_ACTIVE_LIMIT: Final = f"{_PREFIX}-active-limit"


def _window(headers: Mapping[str, str], name: str, now: float) -> LimitWindow | None:
    used_name, reset_at_name, after_name, minutes_name = _WINDOW_NAMES[name]
    used = _float(headers.get(used_name))
    if used is None:
        return None
    resets_at = _int(headers.get(reset_at_name))
    after = _int(headers.get(after_name))
    if resets_at is None and after is not None and after >= 0:
        resets_at = int(now) + after
    minutes = _int(headers.get(minutes_name))
    return LimitWindow(used, minutes if minutes is None or minutes > 0 else None, resets_at)


def _credits(headers: Mapping[str, str]) -> PlanCredits | None:
    has = _bool(headers.get(_HAS_CREDITS))
    unlimited = _bool(headers.get(_UNLIMITED))
    if has is None or unlimited is None:
        return None
    return PlanCredits(has, unlimited, short_text(headers.get(_BALANCE)))


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
