"""The usage endpoint the Codex CLI's status line reads: `GET /backend-api/wham/usage`.

It answers the plan's windows as the `x-codex-*` headers do, in the shape the official client
parses (`RateLimitStatusPayload`): `{"plan_type", "rate_limit": {"allowed", "limit_reached",
"primary_window": {"used_percent", "limit_window_seconds", "reset_after_seconds", "reset_at"},
"secondary_window": ...}, "credits": {"has_credits", "unlimited", "balance"}}`. The numbers are
the knobs' (`primary_used_percent`, ...), or one account's own (`CodexBackend.set_usage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authai_embed.testing.codex.knobs import CodexKnobs
from authai_embed.testing.codex.limits import (
    PRIMARY_RESETS_IN,
    PRIMARY_WINDOW_MINUTES,
    SECONDARY_RESETS_IN,
    SECONDARY_WINDOW_MINUTES,
)
from authai_embed.testing.openai.accounts import Account

__all__ = ["USAGE_PATH", "AccountUsage", "usage_body"]

USAGE_PATH = "/backend-api/wham/usage"


@dataclass(frozen=True, slots=True)
class AccountUsage:
    """One account's own window use (percent), instead of the knobs'."""

    primary_used_percent: float
    secondary_used_percent: float


def usage_body(
    account: Account, knobs: CodexKnobs, usage: AccountUsage | None, now: float
) -> dict[str, Any]:
    """The usage endpoint's answer for `account` (a reached usage limit shows as 100%)."""
    primary = knobs.primary_used_percent if usage is None else usage.primary_used_percent
    secondary = knobs.secondary_used_percent if usage is None else usage.secondary_used_percent
    primary_in = PRIMARY_RESETS_IN
    if knobs.usage_limit_reached:
        primary, primary_in = 100.0, knobs.usage_limit_resets_in
    reached = primary >= 100 or secondary >= 100
    credits: dict[str, Any] = {
        "has_credits": knobs.credits_has_credits,
        "unlimited": knobs.credits_unlimited,
        "balance": knobs.credits_balance,
    }
    return {
        "plan_type": account.plan,
        "rate_limit": {
            "allowed": not reached,
            "limit_reached": reached,
            "primary_window": _window(primary, PRIMARY_WINDOW_MINUTES, primary_in, now),
            "secondary_window": _window(
                secondary, SECONDARY_WINDOW_MINUTES, SECONDARY_RESETS_IN, now
            ),
        },
        "credits": credits,
    }


def _window(used: float, minutes: int, resets_in: int, now: float) -> dict[str, Any]:
    return {
        "used_percent": used,
        "limit_window_seconds": minutes * 60,
        "reset_after_seconds": resets_in,
        "reset_at": int(now) + resets_in,
    }
