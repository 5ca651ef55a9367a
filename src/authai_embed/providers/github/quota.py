"""Copilot's plan and monthly quotas as `PlanLimits`, from the user endpoint the Copilot editor
extensions read: `GET {api_base}/copilot_internal/user` with the GitHub token.

It answers `{"copilot_plan", "quota_reset_date" ("YYYY-MM-DD"), "quota_snapshots": {"chat",
"completions", "premium_interactions": {"entitlement", "remaining", "percent_remaining",
"unlimited", "overage_count", "overage_permitted", ...}}}`; read leniently (what does not parse
is left out). This process's own premium-request counts (`premium.py`) are added when read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from authai_embed.providers._lenient import number, short_text
from authai_embed.providers.github.premium import PremiumUsage
from authai_embed.providers.plan import PlanLimits, PlanWindow, PremiumQuota

__all__ = ["QUOTAS", "USER_PATH", "parse_user", "with_counts"]

USER_PATH: Final = "/copilot_internal/user"
QUOTAS: Final = ("chat", "completions", "premium_interactions")
"""The quotas read, in the order `PlanLimits.windows` lists them."""


def parse_user(body: dict[str, Any], now: float) -> PlanLimits:
    """The user endpoint's answer as `PlanLimits` (without this process's counts)."""
    resets_at = _date(body.get("quota_reset_date_utc")) or _date(body.get("quota_reset_date"))
    snapshots = body.get("quota_snapshots")
    snapshots = snapshots if isinstance(snapshots, dict) else {}
    windows = tuple(
        window
        for name in QUOTAS
        if (window := _window(name, snapshots.get(name), resets_at)) is not None
    )
    premium = next((w for w in windows if w.name == "premium_interactions"), None)
    raw = snapshots.get("premium_interactions")
    overage = number(raw.get("overage_count")) if isinstance(raw, dict) else None
    return PlanLimits(
        provider="github",
        plan=short_text(body.get("copilot_plan")),
        windows=windows,
        credits=None,
        premium_requests=PremiumQuota(
            allowed=None if premium is None or premium.unlimited else premium.entitlement,
            remaining=None if premium is None or premium.unlimited else premium.remaining,
            unlimited=premium is not None and premium.unlimited,
            overage=overage,
            resets_at=resets_at,
            used_here=0.0,
            requests_here=0,
        ),
        fetched_at=now,
        source="usage_endpoint",
    )


def with_counts(limits: PlanLimits, usage: PremiumUsage) -> PlanLimits:
    """`limits` with this process's premium requests this month (`usage`)."""
    premium = limits.premium_requests
    if premium is None:
        return limits
    counted = dataclasses.replace(premium, used_here=usage.used, requests_here=usage.requests)
    return dataclasses.replace(limits, premium_requests=counted)


def _window(name: str, raw: Any, resets_at: int | None) -> PlanWindow | None:
    if not isinstance(raw, dict):
        return None
    unlimited = raw.get("unlimited") is True
    entitlement = number(raw.get("entitlement"))
    remaining = number(raw.get("remaining"))
    if remaining is None:
        remaining = number(raw.get("quota_remaining"))
    left = number(raw.get("percent_remaining"))
    if left is None and entitlement and remaining is not None:
        left = 100.0 * remaining / entitlement
    used = None if unlimited or left is None else round(min(max(100.0 - left, 0.0), 100.0), 2)
    return PlanWindow(
        name,
        used,
        None,
        resets_at,
        entitlement=None if unlimited else entitlement,
        remaining=None if unlimited else remaining,
        unlimited=unlimited,
    )


def _date(raw: Any) -> int | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())
