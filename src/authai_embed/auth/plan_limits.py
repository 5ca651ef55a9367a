"""Each user's plan limits, asked of the provider only when what is known is too old.

Kept per user (the opaque user id, so every session of one user shares one entry), at most
`USERS_LIMIT` users (the least recently asked is forgotten first), in memory per process.
What is known is the provider's last answer brought up to date by model answers since (the
ChatGPT `x-codex-*` headers, a usage-limit refusal: free, no request); when that is older than
`limits_max_age`, one request per user goes out (single-flight: concurrent askers wait for it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

from authai_embed._util.clock import Clock
from authai_embed._util.keyed_lock import KeyedLocks
from authai_embed._util.logs import get_logger
from authai_embed.auth.sessions import Session, Sessions
from authai_embed.errors import Unauthorized, UpstreamError
from authai_embed.providers.base import Provider, UpstreamUnauthorized
from authai_embed.providers.plan import PlanLimits, PlanReporter

__all__ = ["USERS_LIMIT", "PlanLimitsCache"]

USERS_LIMIT: Final = 10_000
"""Users whose limits are kept at most; the least recently asked is dropped past it."""

logger = get_logger("plan_limits")


class PlanLimitsCache:
    """`PlanLimits` per user, fresh within `max_age` seconds; one per `AuthAI`."""

    def __init__(
        self,
        sessions: Sessions,
        providers: Mapping[str, Provider],
        clock: Clock,
        max_age: float,
        limit: int = USERS_LIMIT,
    ) -> None:
        self._sessions = sessions
        self._providers = providers
        self._clock = clock
        self._max_age = max_age
        self._limit = limit
        self._fetched: OrderedDict[str, PlanLimits] = OrderedDict()
        self._locks = KeyedLocks()

    def __len__(self) -> int:
        return len(self._fetched)

    async def of(self, session: Session) -> PlanLimits:
        """The session's user's limits. Raises `Unauthorized` when the provider refuses the
        user's tokens even after a refresh, and `UpstreamError` when it cannot be asked and
        nothing is known (what is known, however old, is returned instead of a failure)."""
        provider = self._providers.get(session.record.provider)
        backend: object = provider.backend if provider is not None else None
        if not isinstance(backend, PlanReporter):
            return self._not_reported(session.record.provider)
        key = session.user_id
        known = self._known(backend, session, key)
        if known is not None and self._fresh(known):
            return known
        async with self._locks.hold(key):
            known = self._known(backend, session, key)
            if known is not None and self._fresh(known):
                return known
            try:
                fetched = await self._fetch(backend, session)
            except UpstreamError as exc:
                if known is None:
                    raise
                logger.warning("plan limits not refreshed, answering older ones: %s", exc.message)
                return known
            self._put(key, fetched)
        return backend.seen_limits(session.credentials, fetched) or fetched

    def _known(self, backend: PlanReporter, session: Session, key: str) -> PlanLimits | None:
        fetched = self._fetched.get(key)
        if fetched is not None:
            self._fetched.move_to_end(key)
        return backend.seen_limits(session.credentials, fetched)

    def _fresh(self, limits: PlanLimits) -> bool:
        return self._clock.now() - limits.fetched_at < self._max_age

    async def _fetch(self, backend: PlanReporter, session: Session) -> PlanLimits:
        """Ask the provider; on a refused token, refresh the session once and ask again."""
        try:
            return await backend.plan_limits(session.credentials)
        except UpstreamUnauthorized:
            session = await self._sessions.refresh(session, force=True)
        try:
            return await backend.plan_limits(session.credentials)
        except UpstreamUnauthorized:
            raise Unauthorized() from None

    def _put(self, key: str, limits: PlanLimits) -> None:
        self._fetched[key] = limits
        self._fetched.move_to_end(key)
        while len(self._fetched) > self._limit:
            self._fetched.popitem(last=False)

    def _not_reported(self, provider: str) -> PlanLimits:
        return PlanLimits(
            provider=provider,
            plan=None,
            windows=(),
            credits=None,
            premium_requests=None,
            fetched_at=self._clock.now(),
            source="not_reported",
        )
