"""Copilot's user endpoint, emulated: `GET /github-api/copilot_internal/user` with the GitHub
token, the plan and monthly quotas the Copilot editor extensions show.

The shape is the real one: `{"copilot_plan", "access_type_sku", "chat_enabled",
"quota_reset_date" ("YYYY-MM-DD", the 1st of next month UTC), "quota_snapshots": {"chat",
"completions", "premium_interactions": {"entitlement", "remaining", "quota_remaining",
"percent_remaining", "unlimited", "overage_count", "overage_permitted", "quota_id"}}}`. Chat and
completions are unlimited (as on paid plans); premium interactions allow
`GitHubKnobs.premium_entitlement` a month (`-1` or `None`: unlimited) minus what the user spent
(`emulator.github.api.premium_used[login]`, which a test may set).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["user_body"]


def user_body(plan: str, entitlement: int | None, used: float, now: float) -> dict[str, Any]:
    """The user endpoint's answer for a Copilot user on `plan` who spent `used` premium
    requests this month out of `entitlement`."""
    today = dt.datetime.fromtimestamp(now, dt.UTC)
    first = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    unlimited = entitlement is None or entitlement < 0
    allowed = 0 if unlimited or entitlement is None else entitlement
    remaining = 0.0 if unlimited else max(0.0, allowed - used)
    percent = 100.0 if unlimited else round(100.0 * remaining / max(allowed, 1), 1)
    premium = _snapshot("premium_interactions", allowed, remaining, percent, unlimited)
    premium["overage_count"] = 0 if unlimited else max(0.0, used - allowed)
    return {
        "access_type_sku": "copilot_for_business_seat"
        if plan == "business"
        else "monthly_subscriber",
        "analytics_tracking_id": "emulator",
        "chat_enabled": True,
        "copilot_plan": plan,
        "organization_login_list": [],
        "quota_reset_date": first.isoformat(),
        "quota_snapshots": {
            "chat": _snapshot("chat", 0, 0.0, 100.0, True),
            "completions": _snapshot("completions", 0, 0.0, 100.0, True),
            "premium_interactions": premium,
        },
    }


def _snapshot(
    quota_id: str, entitlement: int, remaining: float, percent: float, unlimited: bool
) -> dict[str, Any]:
    return {
        "entitlement": entitlement,
        "overage_count": 0,
        "overage_permitted": False,
        "percent_remaining": percent,
        "quota_id": quota_id,
        "quota_remaining": remaining,
        "remaining": int(remaining),
        "unlimited": unlimited,
    }
