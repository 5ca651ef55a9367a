"""Quotas: per-user limits on requests and tokens per UTC day, requests per minute, and which
models a user may call. Off unless the host passes `quotas=Quotas(...)`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from authai_embed.errors import ConfigError

__all__ = ["Quota", "QuotaFor", "Quotas"]


def _positive(name: str, value: int | None, owner: str = "Quota") -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(f"{owner} {name} must be a positive integer or None")


@dataclass(frozen=True, slots=True)
class Quota:
    """One user's limits; `None` is no limit.

    `tokens_per_day` counts input plus output tokens as the provider reported them. `models`,
    when given, is the only models the user may call (others are refused with 403).
    """

    requests_per_day: int | None = None
    tokens_per_day: int | None = None
    requests_per_minute: int | None = None
    models: frozenset[str] | None = field(default=None)

    def __init__(
        self,
        *,
        requests_per_day: int | None = None,
        tokens_per_day: int | None = None,
        requests_per_minute: int | None = None,
        models: Iterable[str] | None = None,
    ) -> None:
        for name, value in (
            ("requests_per_day", requests_per_day),
            ("tokens_per_day", tokens_per_day),
            ("requests_per_minute", requests_per_minute),
        ):
            _positive(name, value)
        if isinstance(models, str):
            raise ConfigError("Quota models must be a collection of model ids, not one string")
        object.__setattr__(self, "requests_per_day", requests_per_day)
        object.__setattr__(self, "tokens_per_day", tokens_per_day)
        object.__setattr__(self, "requests_per_minute", requests_per_minute)
        object.__setattr__(self, "models", None if models is None else frozenset(models))

    @property
    def daily(self) -> bool:
        """Whether a daily counter applies (a reservation is made per call)."""
        return self.requests_per_day is not None or self.tokens_per_day is not None


QuotaFor = Callable[[str], "Quota | Awaitable[Quota | None] | None"]
"""The host's plan lookup: called with the opaque user id before each model call (sync or
async); `None` means the `default` quota applies."""


@dataclass(frozen=True, slots=True)
class Quotas:
    """The quotas of a mount: `AuthAI(..., quotas=Quotas(default=Quota(...)))`.

    `quota_for(user_id)` (sync or async) gives a user's own quota, or `None` for `default`;
    with neither, no quota applies. Counters are in the store, so every process agrees.

    `calls_per_reservation` is how many calls of a user's daily quota a process may reserve
    on the store at once (never more than 1/32 of what is left; the unused rest is handed
    back within two ledger flush intervals): most calls then cost no store round trip. 1
    makes every call reserve its own, so that no call is ever refused while another process
    holds part of the quota (docs/usage.md).
    """

    default: Quota | None = None
    quota_for: QuotaFor | None = None
    calls_per_reservation: int = 16

    def __post_init__(self) -> None:
        if self.default is not None and not isinstance(self.default, Quota):
            raise ConfigError("Quotas default must be a Quota")
        if self.quota_for is not None and not callable(self.quota_for):
            raise ConfigError("Quotas quota_for must be a callable taking the user id")
        _positive("calls_per_reservation", self.calls_per_reservation, "Quotas")

    async def of(self, user_id: str) -> Quota | None:
        """The quota that applies to `user_id`."""
        if self.quota_for is not None:
            found = self.quota_for(user_id)
            if inspect.isawaitable(found):
                found = await found
            if found is not None:
                if not isinstance(found, Quota):
                    raise ConfigError("quota_for must return a Quota or None")
                return found
        return self.default
