"""`GET /auth/limits` (ours): the caller's plan limits, as `AuthAI.limits` returns them, in
the camelCase of the other `/auth/*` answers. The route and its guards are in `app.py`."""

from __future__ import annotations

from typing import Any

from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.auth.plan_limits import PlanLimitsCache
from authai_embed.auth.sessions import Sessions
from authai_embed.providers.plan import PlanCredits, PlanLimits, PlanWindow, PremiumQuota

__all__ = ["LIMITS_PATH", "LimitsRoutes", "limits_json"]

LIMITS_PATH = "/auth/limits"


class LimitsRoutes:
    """The handler of `GET /auth/limits`."""

    __slots__ = ("_cache", "_sessions")

    def __init__(self, sessions: Sessions, cache: PlanLimitsCache) -> None:
        self._sessions = sessions
        self._cache = cache

    async def limits(self, request: Request) -> Response:
        """The bearer's plan limits (bearer header, or the cookie in cookie mode)."""
        session = await self._sessions.usable_session(request.bearer_token())
        return JSONResponse(limits_json(await self._cache.of(session)))


def limits_json(limits: PlanLimits) -> dict[str, Any]:
    """The wire shape of `PlanLimits` (docs/limits.md)."""
    return {
        "provider": limits.provider,
        "plan": limits.plan,
        "source": limits.source,
        "fetchedAt": int(limits.fetched_at),
        "windows": [_window(w) for w in limits.windows],
        "credits": None if limits.credits is None else _credits(limits.credits),
        "premiumRequests": None
        if limits.premium_requests is None
        else _premium(limits.premium_requests),
    }


def _window(window: PlanWindow) -> dict[str, Any]:
    return {
        "name": window.name,
        "usedPercent": window.used_percent,
        "windowMinutes": window.window_minutes,
        "resetsAt": window.resets_at,
        "limitReached": window.limit_reached,
        "entitlement": window.entitlement,
        "remaining": window.remaining,
        "unlimited": window.unlimited,
    }


def _credits(credits: PlanCredits) -> dict[str, Any]:
    return {
        "hasCredits": credits.has_credits,
        "unlimited": credits.unlimited,
        "balance": credits.balance,
    }


def _premium(premium: PremiumQuota) -> dict[str, Any]:
    return {
        "allowed": premium.allowed,
        "remaining": premium.remaining,
        "unlimited": premium.unlimited,
        "overage": premium.overage,
        "resetsAt": premium.resets_at,
        "usedHere": premium.used_here,
        "requestsHere": premium.requests_here,
    }
