"""A user's plan limits as their provider reports them: the values `AuthAI.limits` returns.

Each provider reports something different (ChatGPT: a 5-hour and a weekly window, credits;
Copilot: monthly quotas and premium requests; xAI: nothing). They all fit one frozen
`PlanLimits`, so an app shows them without knowing the provider. A backend that can fetch them
implements `PlanReporter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from authai_embed.credentials import Credentials

__all__ = [
    "LimitsSource",
    "PlanCredits",
    "PlanLimits",
    "PlanReporter",
    "PlanWindow",
    "PremiumQuota",
]

LimitsSource = Literal["usage_endpoint", "response_headers", "usage_limit", "not_reported"]
"""Where a `PlanLimits` came from: the provider's usage endpoint, the headers of the user's
last model answer, a usage-limit refusal, or nowhere (the provider reports no limits)."""


@dataclass(frozen=True, slots=True)
class PlanWindow:
    """One usage limit of the plan: how much of it is used and when it starts over.

    ChatGPT names its windows `primary` (5 hours) and `secondary` (a week); Copilot its
    monthly quotas `chat`, `completions` and `premium_interactions`. Every field but `name`
    is `None` when the provider did not say it.
    """

    name: str
    used_percent: float | None
    """0 to 100; `None` for an unlimited quota."""
    window_minutes: int | None
    """The window's length (ChatGPT); `None` for a calendar quota (Copilot: monthly)."""
    resets_at: int | None
    """Unix seconds."""
    entitlement: float | None = None
    """How many requests the quota allows (Copilot); `None` when counted in percent only."""
    remaining: float | None = None
    """How many are left of `entitlement` (Copilot)."""
    unlimited: bool = False

    @property
    def limit_reached(self) -> bool:
        """Whether this window is used up (calls wait until `resets_at`)."""
        return not self.unlimited and self.used_percent is not None and self.used_percent >= 100


@dataclass(frozen=True, slots=True)
class PlanCredits:
    """Credits bought on top of the plan (ChatGPT), when the provider reports them."""

    has_credits: bool
    unlimited: bool
    balance: str | None
    """As the provider writes it (a decimal number in a string); `None` when not sent."""


@dataclass(frozen=True, slots=True)
class PremiumQuota:
    """Copilot premium requests this month: the account's quota, and this app's share of it.

    `allowed`, `remaining` and `resets_at` are the account's (Copilot's figures: the user's
    editor spends from the same quota); `used_here` and `requests_here` count only the calls
    this process made (`used_here` weighs each by its model's multiplier, as GitHub bills).
    """

    allowed: float | None
    remaining: float | None
    unlimited: bool
    overage: float | None
    """Premium requests billed past the quota this month (Copilot's `overage_count`)."""
    resets_at: int | None
    used_here: float
    requests_here: int


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """What the user's provider says about their plan's limits, at most `limits_max_age`
    seconds old. Never carries a token; identical for every session of one user.

    `windows` is empty and `source` is `"not_reported"` when the provider reports nothing
    (xAI): the app should then say "not reported", not "no limits".
    """

    provider: str
    plan: str | None
    """The provider's name for the plan (`plus`, `pro`, `individual`, `business`, ...)."""
    windows: tuple[PlanWindow, ...]
    credits: PlanCredits | None
    premium_requests: PremiumQuota | None
    """Copilot only; `None` for the other providers."""
    fetched_at: float
    """When the provider said it (Unix seconds)."""
    source: LimitsSource

    @property
    def reported(self) -> bool:
        """Whether the provider reported anything at all."""
        return self.source != "not_reported"


@runtime_checkable
class PlanReporter(Protocol):
    """A model backend that can ask its provider for the user's plan limits."""

    async def plan_limits(self, credentials: Credentials) -> PlanLimits:
        """Ask the provider now. Raises `UpstreamUnauthorized` when the token is refused (the
        caller refreshes and asks once more) and `UpstreamError` for other failures."""
        ...

    def seen_limits(
        self, credentials: Credentials, fetched: PlanLimits | None
    ) -> PlanLimits | None:
        """The freshest limits known without a request: `fetched` (the last `plan_limits`
        answer, or `None`) brought up to date with what model answers said since."""
        ...
